"""Small helpers the browser tests share: sign in, wait, save a screenshot."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

T = TypeVar("T")

WAIT_SECONDS = 120.0
"""Upper bound for a page to reach a state (a job to run on a loaded machine); tests wait on
the page's state, this only stops a hung test."""


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], T], what: str) -> T:
    """Wait until ``condition(driver)`` is truthy; fail naming ``what`` otherwise."""
    # htmx replaces parts of the page while it is read: a vanished element means "not yet".
    ignored = (StaleElementReferenceException, NoSuchElementException)
    waiting = WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.1, ignored_exceptions=ignored)
    waited: T = waiting.until(condition, message=f"waiting for {what}")
    return waited


def sign_in(driver: WebDriver, base_url: str, token: str, path: str = "/") -> None:
    """Open ``path`` (which sends a visitor to the sign-in form), type the token and press
    Enter: the keyboard alone signs in."""
    driver.get(base_url + path)
    wait_for(driver, lambda d: d.find_elements(By.ID, "token"), "the sign-in form")
    field = driver.find_element(By.ID, "token")
    field.send_keys(token)
    field.send_keys(Keys.ENTER)
    wait_for(driver, lambda d: d.find_elements(By.ID, "signout"), "the signed-in page")


def screenshot(driver: WebDriver, folder: Path, name: str) -> Path:
    """Save the whole page as ``<folder>/<name>.png`` (and copy it to
    ``$OPENQX_SCREENSHOTS_DIR`` when set)."""
    driver.set_window_size(1360, 900)  # measure the page, not the last window
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    width = int(driver.execute_script("return document.documentElement.scrollWidth"))
    driver.set_window_size(max(1360, width), min(max(900, height + 140), 4000))
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"no screenshot of {name}"
    extra = os.environ.get("OPENQX_SCREENSHOTS_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / path.name)
    return path


def console_errors(driver: WebDriver) -> list[str]:
    """Errors the page logged to the console since the last call (a script that failed, a
    resource refused by the Content-Security-Policy, a missing file)."""
    entries = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [str(entry["message"]) for entry in entries]


def mark_page(driver: WebDriver) -> None:
    """Mark the loaded document; ``still_same_page`` is false after any reload."""
    driver.execute_script("window.__openqxMark = 'kept';")


def still_same_page(driver: WebDriver) -> bool:
    """Whether the document marked by ``mark_page`` is still the one shown (no reload)."""
    return bool(driver.execute_script("return window.__openqxMark === 'kept';"))
