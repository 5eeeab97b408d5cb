"""Dashboard pages in-process (TestClient on the real app with in-memory parts): sessions,
CSRF, the API's permission rules on pages, error pages and the filter form."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from openqx.core.clock import ManualClock
from openqx.core.instances import DEFAULT_INSTANCE
from openqx.web.sessions import SESSION_COOKIE, SESSION_SECONDS
from tests.unit.server.harness import (
    ADMIN_TOKEN,
    BASE_URL,
    Harness,
    HeldExecutor,
    bell,
    open_harness,
    qpy_b64,
    small_catalog,
)

with warnings.catch_warnings():  # as in the harness: keep httpx, skip starlette's notice
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    """One service for the module (inline executor); tests make their own users and jobs."""
    with open_harness() as opened:
        yield opened


def browser_for(harness: Harness, token: str) -> TestClient:
    """A client with its own cookie jar, signed in with ``token``."""
    client = TestClient(harness.client.app, base_url=BASE_URL)
    answer = client.post("/signin", data={"token": token, "next": "/jobs"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def test_pages_send_visitors_to_sign_in(harness: Harness) -> None:
    client = TestClient(harness.client.app, base_url=BASE_URL)
    for path in ("/jobs", "/devices", "/jobs/anything", "/devices/fake_manila"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/signin?next=")
        assert "expired" not in answer.headers["location"]
    assert client.get("/", follow_redirects=False).headers["location"] == "/jobs"
    fragment = client.get("/jobs/table", headers={"HX-Request": "true"})
    assert fragment.status_code == 204 and fragment.headers["HX-Redirect"].startswith("/signin")


def test_sign_in_sets_an_opaque_http_only_cookie_and_refuses_a_wrong_token(
    harness: Harness,
) -> None:
    client = TestClient(harness.client.app, base_url=BASE_URL)
    wrong = client.post("/signin", data={"token": "nope"}, follow_redirects=False)
    assert wrong.status_code == 401 and "not valid" in wrong.text
    assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
    empty = client.post("/signin", data={"token": ""}, follow_redirects=False)
    assert empty.status_code == 401 and "Enter your API token" in empty.text
    answer = client.post(
        "/signin", data={"token": ADMIN_TOKEN, "next": "/devices"}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/devices"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert ADMIN_TOKEN not in cookie
    assert client.get("/jobs").status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "jobs", "/\\evil"])
def test_sign_in_never_redirects_off_site(harness: Harness, target: str) -> None:
    client = TestClient(harness.client.app, base_url=BASE_URL)
    answer = client.post(
        "/signin", data={"token": ADMIN_TOKEN, "next": target}, follow_redirects=False
    )
    assert answer.headers["location"] == "/jobs"


def test_a_session_expires_on_the_service_clock() -> None:
    clock = ManualClock()
    with open_harness(clock=clock) as harness:
        client = browser_for(harness, ADMIN_TOKEN)
        assert client.get("/jobs").status_code == 200
        clock.advance(SESSION_SECONDS - 1)
        assert client.get("/jobs").status_code == 200  # used: the expiry moves on
        clock.advance(SESSION_SECONDS + 1)
        answer = client.get("/jobs?backend=x", follow_redirects=False)
        assert answer.status_code == 303
        assert "expired=1" in answer.headers["location"]
        page = client.get(answer.headers["location"])
        assert "Your session has expired" in page.text


def test_sign_out_needs_the_csrf_token_and_ends_the_session(harness: Harness) -> None:
    client = browser_for(harness, ADMIN_TOKEN)
    page = client.get("/jobs")
    refused = client.post("/signout", data={"csrf": "forged"})
    assert refused.status_code == 403
    assert client.get("/jobs", follow_redirects=False).status_code == 200
    answer = client.post("/signout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/signin"
    client.cookies.clear()
    assert client.get("/jobs", follow_redirects=False).status_code == 303


def test_rename_and_retag_through_forms_with_csrf(harness: Harness) -> None:
    token = harness.new_user()
    job = harness.submit(token, name="before")
    client = browser_for(harness, token)
    page = client.get(f"/jobs/{job['id']}")
    csrf = csrf_of(page.text)
    forged = client.post(f"/jobs/{job['id']}/rename", data={"name": "x", "csrf": "forged"})
    assert forged.status_code == 403
    foreign = client.post(
        f"/jobs/{job['id']}/rename",
        data={"name": "x", "csrf": csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    assert harness.api(token).job(job["id"]).name == "before"
    renamed = client.post(f"/jobs/{job['id']}/rename", data={"name": "after", "csrf": csrf})
    assert renamed.status_code == 200 and "The job was renamed." in renamed.text
    retagged = client.post(f"/jobs/{job['id']}/tags", data={"tags": "a, b", "csrf": csrf})
    assert retagged.status_code == 200
    info = harness.api(token).job(job["id"])
    assert info.name == "after" and info.tags == ["a", "b"]
    too_long = client.post(f"/jobs/{job['id']}/rename", data={"name": "n" * 5000, "csrf": csrf})
    assert too_long.status_code == 400 and 'id="change-problem"' in too_long.text


def test_missing_and_invisible_jobs_are_404_pages(harness: Harness) -> None:
    owner = harness.new_user(instances=(DEFAULT_INSTANCE,))
    other = harness.new_user(instances=(DEFAULT_INSTANCE,))
    private = harness.submit(owner)
    shared = harness.submit(owner, share_level="project")
    client = browser_for(harness, other)
    for job_id in ("does-not-exist", private["id"]):
        answer = client.get(f"/jobs/{job_id}")
        assert answer.status_code == 404 and "404 · Not found" in answer.text
        assert answer.headers["content-type"].startswith("text/html")
    readable = client.get(f"/jobs/{shared['id']}")
    assert readable.status_code == 200
    assert 'id="rename"' not in readable.text  # may read, not change
    changed = client.post(
        f"/jobs/{shared['id']}/rename", data={"name": "mine", "csrf": csrf_of(readable.text)}
    )
    assert changed.status_code == 403 and "Only the owner" in changed.text
    listed = client.get("/jobs?scope=shared")
    assert shared["id"] in listed.text and private["id"] not in listed.text
    assert shared["id"] not in client.get("/jobs").text  # "own" is the default scope


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("status=FINISHED", "status", "Unknown status FINISHED"),
        ("start=2026-02-30", "start", "is not a date"),
        ("end=yesterday", "end", "is not a date"),
        ("scope=everyone", "scope", "Unknown scope"),
        ("name=(unclosed", "name", "missing )"),
    ],
)
def test_a_malformed_filter_is_explained(
    harness: Harness, query: str, field: str, words: str
) -> None:
    client = browser_for(harness, ADMIN_TOKEN)
    answer = client.get(f"/jobs?{query}")
    assert answer.status_code == 400
    problem = re.search(rf'<li data-field="{field}">([^<]*)</li>', answer.text)
    assert problem, answer.text
    assert words in problem.group(1)


def test_jobs_page_filters_and_pages_with_the_cursor(harness: Harness) -> None:
    token = harness.new_user()
    ids = [harness.submit(token, name=f"paged-{i}", tags=["paging"])["id"] for i in range(30)]
    client = browser_for(harness, token)
    first = client.get("/jobs?tags=paging")
    assert first.status_code == 200
    shown = re.findall(r'<tr data-job-id="([^"]+)"', first.text)
    assert shown == list(reversed(ids))[:25]
    next_link = re.search(r'href="(/jobs\?[^"]+)" id="next-page"', first.text)
    assert next_link
    second = client.get(next_link.group(1).replace("&amp;", "&"))
    assert re.findall(r'<tr data-job-id="([^"]+)"', second.text) == list(reversed(ids))[25:]
    assert 'id="next-page"' not in second.text
    named = client.get("/jobs?name=paged-1%24")
    assert re.findall(r'<tr data-job-id="([^"]+)"', named.text) == [ids[1]]
    fragment = client.get("/jobs/table?tags=paging")
    assert fragment.text.lstrip().startswith('<section id="jobs-table"')


def test_job_page_shows_timeline_histogram_circuits_and_options(harness: Harness) -> None:
    job = harness.submit(ADMIN_TOKEN, backend="fake_manila", shots=100, name="shown")
    harness.wait_final(job["id"])
    client = browser_for(harness, ADMIN_TOKEN)
    page = client.get(f"/jobs/{job['id']}").text
    for piece in (
        'id="timeline"',
        'id="histogram-0"',
        'class="circuit"',
        'id="run-options"',
        "Calibration snapshot",
        "median T1",
    ):
        assert piece in page, piece
    counts = re.findall(r"<tr><td><code>([01]+)</code></td><td>(\d+)</td></tr>", page)
    assert sum(int(n) for _, n in counts) == 100
    detail = client.get(f"/jobs/{job['id']}/detail")
    assert detail.status_code == 200 and "<html" not in detail.text


def test_cancel_form_cancels_a_queued_job() -> None:
    held = HeldExecutor(small_catalog())
    with open_harness(executor=held) as harness:
        running = harness.submit(ADMIN_TOKEN)
        held.next_job()
        queued = harness.submit(ADMIN_TOKEN)
        client = browser_for(harness, ADMIN_TOKEN)
        page = client.get(f"/jobs/{queued['id']}")
        assert 'id="queue"' in page.text and 'id="cancel"' in page.text
        answer = client.post(f"/jobs/{queued['id']}/cancel", data={"csrf": csrf_of(page.text)})
        assert answer.status_code == 200 and "The job was cancelled." in answer.text
        assert harness.api().job(queued["id"]).status.value == "CANCELLED"
        held.finish(running["id"])


def test_device_pages(harness: Harness) -> None:
    client = browser_for(harness, ADMIN_TOKEN)
    listing = client.get("/devices").text
    assert set(re.findall(r'<tr data-device="([^"]+)"', listing)) == set(small_catalog().names())
    device = client.get("/devices/fake_manila").text
    assert device.count("data-qubit=") == 5 and device.count("data-edge=") == 4
    assert 'id="chart-coherence"' in device and "Reservations" in device
    simulator = client.get("/devices/ibmq_qasm_simulator").text
    assert "ideal simulator" in simulator and "data-qubit" not in simulator
    missing = client.get("/devices/nope")
    assert missing.status_code == 404 and "nope" in missing.text


def test_static_files_are_served_without_a_cdn(harness: Harness) -> None:
    client = browser_for(harness, ADMIN_TOKEN)
    page = client.get("/jobs").text
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts and all(src.startswith("/static/") for src in scripts)
    for src in scripts:
        assert client.get(src).status_code == 200


def test_pages_forbid_framing_and_foreign_scripts(harness: Harness) -> None:
    client = browser_for(harness, ADMIN_TOKEN)
    for path in ("/jobs", "/devices", "/signin", "/jobs/missing"):
        headers = client.get(path).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"


def test_a_circuit_runner_job_has_a_page(harness: Harness) -> None:
    body = {
        "program_id": "circuit-runner",
        "backend": "ibmq_qasm_simulator",
        "params": {"circuits": qpy_b64(bell()), "shots": 50},
    }
    answer = harness.client.post("/v1/runtime/jobs", json=body, headers=harness.headers())
    assert answer.status_code == 201, answer.text
    job_id = answer.json()["id"]
    harness.wait_final(job_id)
    page = browser_for(harness, ADMIN_TOKEN).get(f"/jobs/{job_id}")
    assert page.status_code == 200
    assert 'id="job-status"' in page.text and 'class="circuit"' in page.text


def test_a_failed_job_shows_its_error() -> None:
    held = HeldExecutor(small_catalog())
    with open_harness(executor=held) as harness:
        job = harness.submit(ADMIN_TOKEN)
        held.next_job()
        held.fail(job["id"], "the simulator ran out of memory")
        harness.wait_final(job["id"])
        page = browser_for(harness, ADMIN_TOKEN).get(f"/jobs/{job['id']}").text
        error = re.search(r'id="job-error">(.*?)</div>', page, re.S)
        assert error and "the simulator ran out of memory" in error.group(1)
        assert 'data-status="ERROR"' in page
