"""The dashboard in a real headless chromium against a real server: sign in, watch a job
submitted from the Python client reach DONE without a reload, its histogram, a device's map
and history, who may open which job, bad input, sign out. Each page is saved as a screenshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from qiskit import QuantumCircuit, transpile
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from openqx.client.http import ApiClient
from openqx.client.provider import AccountProvider
from openqx.core.instances import DEFAULT_INSTANCE
from openqx.core.wire import UserCreate
from openqx.embedded import EmbeddedServer
from tests.browser.pages import (
    console_errors,
    mark_page,
    screenshot,
    sign_in,
    still_same_page,
    wait_for,
)

ALICE_TOKEN = "alice-browser-token-0123456789"
BOB_TOKEN = "bob-browser-token-0123456789"


@pytest.fixture(scope="module")
def provider(server: EmbeddedServer) -> Iterator[AccountProvider]:
    """The administrator's provider (the Python client)."""
    api = ApiClient(server.url, server.token)
    yield AccountProvider(api)
    api.close()


@pytest.fixture(scope="module")
def users(server: EmbeddedServer) -> None:
    """Alice and Bob, both members of the default project."""
    with ApiClient(server.url, server.token) as api:
        for name, token in (("alice", ALICE_TOKEN), ("bob", BOB_TOKEN)):
            api.create_user(UserCreate(name=name, token=token, instances=[DEFAULT_INSTANCE]))


def _bell(provider: AccountProvider, backend_name: str) -> QuantumCircuit:
    qc = QuantumCircuit(2, name="bell")
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return transpile(qc, provider.get_backend(backend_name), seed_transpiler=1)


def _status_of_row(driver: WebDriver, job_id: str) -> str | None:
    cells = driver.find_elements(By.CSS_SELECTOR, f'tr[data-job-id="{job_id}"] [data-status]')
    return cells[0].get_attribute("data-status") if cells else None


def _drawn(canvas_id: str) -> Callable[[WebDriver], bool]:
    """Whether the chart of that canvas has been drawn (dashboard.js marks it)."""
    return lambda d: d.find_element(By.ID, canvas_id).get_attribute("data-drawn") == "1"


def test_sign_in_with_a_wrong_then_the_right_token(
    browser: WebDriver, server: EmbeddedServer, screenshots: Path
) -> None:
    browser.get(server.url + "/")
    wait_for(browser, lambda d: d.find_elements(By.ID, "token"), "the sign-in form")
    assert "/signin" in browser.current_url
    screenshot(browser, screenshots, "signin")
    field = browser.find_element(By.ID, "token")
    field.send_keys("not-a-token")
    browser.find_element(By.ID, "signin").click()
    problem = wait_for(browser, lambda d: d.find_elements(By.ID, "signin-problem"), "refusal")
    assert "not valid" in problem[0].text
    sign_in(browser, server.url, server.token)
    assert browser.current_url.endswith("/jobs")
    cookie = browser.get_cookie("openqx_session")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert server.token not in cookie["value"]


def test_a_submitted_job_appears_and_reaches_done_without_reload(
    browser: WebDriver, server: EmbeddedServer, provider: AccountProvider, screenshots: Path
) -> None:
    sign_in(browser, server.url, server.token, "/jobs")
    mark_page(browser)
    backend = provider.get_backend("fake_manila")
    job = backend.run(
        _bell(provider, "fake_manila"), shots=1024, job_name="browser-bell", job_tags=["browser"]
    )
    job_id = job.job_id()
    wait_for(browser, lambda d: _status_of_row(d, job_id) is not None, "the new job's row")
    wait_for(browser, lambda d: _status_of_row(d, job_id) == "DONE", "the job's DONE status")
    assert still_same_page(browser), "the jobs page was reloaded"
    # Through the page's event stream, not by polling the table.
    table = browser.find_element(By.ID, "jobs-table")
    assert table.get_attribute("data-stream") is not None
    assert table.get_attribute("hx-trigger") is None
    screenshot(browser, screenshots, "jobs")

    browser.find_element(By.LINK_TEXT, job_id).click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "histogram-0"), "the histogram")
    wait_for(
        browser,
        lambda d: (
            d.find_element(By.CSS_SELECTOR, "#histogram-0 canvas").get_attribute("data-drawn")
            == "1"
        ),
        "the chart drawn",
    )
    counts = {
        row.find_elements(By.TAG_NAME, "td")[0].get_attribute("textContent"): int(
            row.find_elements(By.TAG_NAME, "td")[1].get_attribute("textContent") or 0
        )
        for row in browser.find_elements(By.CSS_SELECTOR, "#histogram-0 table.counts tbody tr")
    }
    assert sum(counts.values()) == 1024
    assert counts == job.result().get_counts(0)
    assert "DONE" in browser.find_element(By.ID, "timeline").text
    assert (
        "readout error"
        in browser.find_element(By.ID, "calibration-title").find_element(By.XPATH, "..").text
    )
    assert browser.find_elements(By.CSS_SELECTOR, "pre.circuit")
    screenshot(browser, screenshots, "job")
    assert console_errors(browser) == []


def test_a_job_page_follows_the_status_stream(
    browser: WebDriver, server: EmbeddedServer, provider: AccountProvider
) -> None:
    sign_in(browser, server.url, server.token, "/jobs")
    job = provider.get_backend("fake_manila").run(_bell(provider, "fake_manila"), shots=4000)
    browser.get(f"{server.url}/jobs/{job.job_id()}")
    mark_page(browser)
    wait_for(
        browser,
        lambda d: d.find_element(By.ID, "job-status").get_attribute("data-status") == "DONE",
        "DONE on the job page",
    )
    assert still_same_page(browser), "the job page was reloaded"
    wait_for(browser, lambda d: d.find_elements(By.ID, "histogram-0"), "the histogram")


def test_devices_list_and_a_device_page_with_its_map_and_history(
    browser: WebDriver, server: EmbeddedServer, screenshots: Path
) -> None:
    sign_in(browser, server.url, server.token, "/devices")
    row = wait_for(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, 'tr[data-device="fake_manila"]'),
        "fake_manila's row",
    )[0]
    cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
    assert cells[3] == "5" and cells[6].endswith("%")
    screenshot(browser, screenshots, "devices")
    row.find_element(By.LINK_TEXT, "fake_manila").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "coupling-map"), "the coupling map")
    qubits = browser.find_elements(By.CSS_SELECTOR, "#coupling-map [data-qubit]")
    edges = browser.find_elements(By.CSS_SELECTOR, "#coupling-map line[data-edge]")
    assert len(qubits) == 5 and len(edges) == 4
    for canvas_id in ("chart-coherence", "chart-errors"):
        wait_for(browser, _drawn(canvas_id), f"the {canvas_id} chart")
    screenshot(browser, screenshots, "device")
    assert console_errors(browser) == []


def test_private_jobs_are_404_and_project_shared_ones_open(
    browser: WebDriver, server: EmbeddedServer, users: None, screenshots: Path
) -> None:
    with ApiClient(server.url, ALICE_TOKEN) as api:
        alice = AccountProvider(api)
        circuit = _bell(alice, "ibmq_qasm_simulator")
        backend = alice.get_backend("ibmq_qasm_simulator")
        private = backend.run(circuit, shots=10, job_name="alice-private")
        shared = backend.run(circuit, shots=10, job_name="alice-shared", job_share_level="project")
        private.wait_for_final_state()
        shared.wait_for_final_state()
    sign_in(browser, server.url, BOB_TOKEN, "/jobs")
    browser.get(f"{server.url}/jobs/{private.job_id()}")
    heading = wait_for(browser, lambda d: d.find_elements(By.TAG_NAME, "h1"), "a page")[0]
    assert heading.text.startswith("404")
    assert private.job_id() in browser.find_element(By.CSS_SELECTOR, ".problem").text
    screenshot(browser, screenshots, "not-found")
    browser.get(f"{server.url}/jobs/{shared.job_id()}")
    wait_for(browser, lambda d: d.find_elements(By.ID, "job-status"), "the shared job")
    assert browser.find_element(By.ID, "job-name").text == "alice-shared"
    assert not browser.find_elements(By.ID, "rename"), "Bob may read but not change it"
    browser.get(f"{server.url}/jobs?scope=shared")
    wait_for(browser, lambda d: _status_of_row(d, shared.job_id()) == "DONE", "shared listing")
    assert _status_of_row(browser, private.job_id()) is None


def test_a_malformed_filter_is_explained_on_the_form(
    browser: WebDriver, server: EmbeddedServer, screenshots: Path
) -> None:
    sign_in(browser, server.url, server.token, "/jobs")
    browser.find_element(By.ID, "f-start").send_keys("2026-13-45")
    browser.find_element(By.ID, "f-name").send_keys("(unclosed")
    browser.find_element(By.ID, "apply-filter").click()
    problems = wait_for(browser, lambda d: d.find_elements(By.ID, "filter-problems"), "problems")
    text = problems[0].text
    assert "2026-13-45" in text and "YYYY-MM-DD" in text
    assert browser.find_element(By.ID, "f-start").get_attribute("aria-invalid") == "true"
    screenshot(browser, screenshots, "bad-filter")


def test_sign_out_and_an_expired_session(browser: WebDriver, server: EmbeddedServer) -> None:
    sign_in(browser, server.url, server.token, "/jobs")
    browser.find_element(By.ID, "signout").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "token"), "the sign-in form")
    assert browser.get_cookie("openqx_session") is None
    browser.get(server.url + "/jobs")
    wait_for(browser, lambda d: d.find_elements(By.ID, "token"), "the sign-in form")
    # A cookie the server no longer knows (its session ended) reads as expired.
    browser.add_cookie({"name": "openqx_session", "value": "ended-session", "path": "/"})
    browser.get(server.url + "/devices")
    notice = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".notice"), "notice")
    assert "expired" in notice[0].text
    sign_in_field = browser.find_element(By.ID, "token")
    sign_in_field.send_keys(server.token + "\n")
    wait_for(browser, lambda d: d.current_url.endswith("/devices"), "back to the devices page")


def test_a_rotated_token_sends_the_open_jobs_page_to_sign_in(
    browser: WebDriver, server: EmbeddedServer
) -> None:
    token = "carol-token-for-the-browser-tests-0123456789"
    with ApiClient(server.url, server.token) as api:
        api.create_user(UserCreate(name="carol", token=token, instances=[DEFAULT_INSTANCE]))
        sign_in(browser, server.url, token, "/jobs")
        wait_for(browser, lambda d: d.find_elements(By.ID, "jobs-table"), "the jobs page")
        api.admin("POST", "/admin/users/carol/token")
    # Nobody touches the page: its event stream ends and the page goes to the sign-in form.
    notice = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".notice"), "notice")
    assert "token was changed" in notice[0].text
    assert browser.find_elements(By.ID, "token")
    assert browser.get_cookie("openqx_session") is not None  # the cookie stays; its session not
    browser.get(server.url + "/jobs")
    wait_for(browser, lambda d: d.find_elements(By.ID, "token"), "still the sign-in form")


def test_an_administrator_opens_an_instance(
    browser: WebDriver, server: EmbeddedServer, users: None, screenshots: Path
) -> None:
    sign_in(browser, server.url, server.token, "/jobs")
    browser.find_element(By.LINK_TEXT, "Instances").click()
    link = wait_for(browser, lambda d: d.find_elements(By.LINK_TEXT, DEFAULT_INSTANCE), "units")
    screenshot(browser, screenshots, "instances")
    link[0].click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "members-title"), "the instance page")
    members = {
        row.get_attribute("data-member")
        for row in browser.find_elements(By.CSS_SELECTOR, "tr[data-member]")
    }
    assert {"alice", "bob"} <= members
    screenshot(browser, screenshots, "instance")
