"""Browser fixtures: a real ``openqx serve``-equivalent server (uvicorn in a thread, SQLite,
one worker process) and Debian's headless chromium driven through its chromedriver.

Without chromium and chromedriver the tests skip, unless ``OPENQX_REQUIRE_BROWSER=1``
(``scripts/test.sh`` sets it, and installs both as root) makes that a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver

from openqx.embedded import EmbeddedServer

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
WINDOW = (1360, 1000)


def _find(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser_binaries() -> tuple[str, str]:
    """Paths of chromium and chromedriver (skip, or fail when required, if missing)."""
    chromium = _find(CHROMIUM_NAMES)
    driver = _find(("chromedriver",))
    if chromium is None or driver is None:
        message = "Debian's chromium and chromium-driver are needed (scripts/test.sh installs them)"
        if os.environ.get("OPENQX_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return chromium, driver


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """A running service: SQLite, one local worker process."""
    data_dir = tmp_path_factory.mktemp("openqx-browser")
    with EmbeddedServer(data_dir=data_dir, executor="local", workers=1) as srv:
        yield srv


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests save a screenshot of each page (also copied to
    ``$OPENQX_SCREENSHOTS_DIR`` when set, to refresh the documentation's pictures)."""
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def browser(browser_binaries: tuple[str, str]) -> Iterator[WebDriver]:
    """A fresh headless chromium (no cookies) for one test."""
    chromium, driver_path = browser_binaries
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in CI containers
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})  # console errors
    os.environ.setdefault("SE_OFFLINE", "true")  # never let selenium-manager download
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
