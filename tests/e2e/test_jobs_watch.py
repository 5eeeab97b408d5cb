"""Issue 3, watching and changing jobs through the real server (SQLite and PostgreSQL):
status, results, waiting with SSE-driven callbacks (and polling), cancelling queued and running
jobs, queue information, renaming and re-tagging, and every job accessor."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from qiskit import transpile
from qiskit.providers import JobStatus

from openqx.client import exceptions as exc
from openqx.client.job import JOB_SET_TAG_PREFIX, OpenQXJob
from openqx.client.monitor import job_monitor
from openqx.client.provider import AccountProvider
from openqx.client.queue_info import QueueInfo
from openqx.embedded import EmbeddedServer
from tests.e2e.circuits import forever, ghz, not_clifford
from tests.e2e.compat_helpers import wait_running

TIMEOUT = 120
FINAL = {JobStatus.DONE, JobStatus.CANCELLED, JobStatus.ERROR}


class _Requests:
    """Records the path of every request the provider's HTTP client sends."""

    def __init__(self, provider: Any) -> None:
        self.paths: list[str] = []
        self._hooks = provider.api_client._http.event_hooks["request"]

    def __call__(self, request: httpx.Request) -> None:
        self.paths.append(request.url.path)

    def __enter__(self) -> _Requests:
        self._hooks.append(self)
        return self

    def __exit__(self, *args: object) -> None:
        self._hooks.remove(self)

    def ending(self, suffix: str) -> int:
        return sum(1 for path in self.paths if path.endswith(suffix))


@pytest.fixture()
def busy(provider: AccountProvider) -> Iterator[OpenQXJob]:
    """A slow simulation that holds the server's only worker; cancelled at the end."""
    job = provider.get_backend("simulator_statevector").run(forever(), shots=10)
    wait_running(job)
    yield job
    job.cancel()
    job.wait_for_final_state(timeout=TIMEOUT)


class _CancelAfter:
    """Cancels ``job`` (from another thread) once it has been called ``count`` times.

    The tests below watch a queued job and need it to be observed a few times before it ends;
    counting observations instead of waiting on a timer keeps them independent of speed.
    """

    def __init__(self, job: OpenQXJob, count: int) -> None:
        self.job, self.count, self.calls = job, count, 0
        self.thread: threading.Thread | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.calls += 1
        if self.calls == self.count:
            self.thread = threading.Thread(target=self.job.cancel)
            self.thread.start()

    def join(self) -> None:
        assert self.thread is not None, f"only {self.calls} of {self.count} observations"
        self.thread.join(TIMEOUT)


class _CountingOutput(io.StringIO):
    """A StringIO that calls ``on_write`` for every write containing ``needle``."""

    def __init__(self, needle: str, on_write: _CancelAfter) -> None:
        super().__init__()
        self.needle, self.on_write = needle, on_write

    def write(self, text: str) -> int:
        if self.needle in text:
            self.on_write()
        return super().write(text)


def _small(
    provider: AccountProvider, name: str = "simulator_stabilizer", **kwargs: Any
) -> OpenQXJob:
    backend = provider.get_backend(name)
    return backend.run(transpile(ghz(2), backend), shots=kwargs.pop("shots", 20), **kwargs)


# --- status and waiting -----------------------------------------------------------------------


def test_status_of_a_final_job_costs_no_request(provider: AccountProvider) -> None:
    job = _small(provider)
    job.wait_for_final_state(timeout=TIMEOUT)
    again = provider.backend.retrieve_job(job.job_id())
    with _Requests(provider) as requests:
        for _ in range(3):
            assert job.status() is JobStatus.DONE
            assert again.status() is JobStatus.DONE
        assert job.done() and job.in_final_state() and not job.running()
        job.wait_for_final_state(timeout=1)
        assert job.queue_position(refresh=True) is None
    assert requests.paths == []


def test_callbacks_come_from_the_event_stream(provider: AccountProvider, busy: OpenQXJob) -> None:
    waiter = _small(provider)
    paced = _small(provider)
    assert waiter.status() is JobStatus.QUEUED
    seen: list[tuple[JobStatus, QueueInfo | None]] = []
    paced_seen: list[JobStatus] = []

    # Both wait behind ``busy`` until cancelled (queued cancels take effect at once): the
    # waiter after its first callback, the paced one after its third.
    cancel_waiter, cancel_paced = _CancelAfter(waiter, 1), _CancelAfter(paced, 3)

    def callback(job_id: str, status: JobStatus, job: OpenQXJob, queue_info: Any = None) -> None:
        assert job_id == waiter.job_id() and job is waiter
        seen.append((status, queue_info))
        cancel_waiter()

    def paced_callback(job_id: str, status: JobStatus, job: OpenQXJob, **kwargs: Any) -> None:
        paced_seen.append(status)
        cancel_paced()

    paced_thread = threading.Thread(
        target=paced.wait_for_final_state,
        kwargs={"timeout": TIMEOUT, "wait": 0.2, "callback": paced_callback},
    )
    with _Requests(provider) as requests:
        paced_thread.start()
        waiter.wait_for_final_state(timeout=TIMEOUT, callback=callback)
        paced_thread.join(TIMEOUT)
    cancel_waiter.join()
    cancel_paced.join()
    assert waiter.status() is JobStatus.CANCELLED and paced.status() is JobStatus.CANCELLED
    assert busy.status() is JobStatus.RUNNING
    statuses = [status for status, _ in seen]
    assert statuses and JobStatus.QUEUED in statuses, statuses
    assert set(statuses) <= {JobStatus.QUEUED, JobStatus.RUNNING}, statuses  # never final
    assert len(statuses) == len(set(statuses)), statuses  # wait=None: only on change
    queued_info = next(info for status, info in seen if status is JobStatus.QUEUED)
    assert isinstance(queued_info, QueueInfo) and queued_info.position == 1
    # wait=0.2: called on a timer with the newest status, several times while queued
    assert paced_seen.count(JobStatus.QUEUED) >= 3, paced_seen
    assert not FINAL & set(paced_seen)
    # driven by SSE: the stream its submission opened (backend.run), no other stream, the
    # status endpoint never polled
    assert requests.ending(f"/jobs/{waiter.job_id()}/events") == 0
    assert requests.ending(f"/jobs/{waiter.job_id()}/status") == 0


def test_polling_is_the_fallback(
    provider: AccountProvider, busy: OpenQXJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_stream(*args: Any, **kwargs: Any) -> Any:
        raise exc.OpenQXJobApiError("no event stream here")

    api = provider.api_client
    monkeypatch.setattr(api, "stream_job_status", no_stream)
    monkeypatch.setattr(api, "submit_watched", lambda body, **_: (api.submit_job(body), None))
    waiter = _small(provider)
    waiter.POLL_INTERVAL = 0.1
    seen: list[JobStatus] = []
    cancel = _CancelAfter(waiter, 3)  # after the third poll's callback

    def callback(job_id: str, status: JobStatus, job: OpenQXJob, **kwargs: Any) -> None:
        seen.append(status)
        cancel()

    with _Requests(provider) as requests:
        waiter.wait_for_final_state(timeout=TIMEOUT, callback=callback, wait=0.1)
    cancel.join()
    assert waiter.status() is JobStatus.CANCELLED
    assert JobStatus.QUEUED in seen and not FINAL & set(seen), seen
    assert requests.ending(f"/jobs/{waiter.job_id()}/status") >= 3
    assert requests.ending("/events") == 0


def test_timeouts(provider: AccountProvider, busy: OpenQXJob) -> None:
    waiter = _small(provider)
    for call in (
        lambda: waiter.result(timeout=0.3),
        lambda: waiter.wait_for_final_state(timeout=0.3),
        lambda: waiter.error_message(timeout=0.3),
    ):
        started = time.monotonic()
        with pytest.raises(exc.OpenQXJobTimeoutError, match="Timeout"):
            call()
        assert time.monotonic() - started < 5
    assert waiter.status() is JobStatus.QUEUED
    assert busy.status() is JobStatus.RUNNING
    waiter.cancel()


# --- cancelling ---------------------------------------------------------------------------------


def test_cancel_a_running_job_stops_the_simulation(
    provider: AccountProvider, busy: OpenQXJob
) -> None:
    started = time.monotonic()
    assert busy.cancel() is True
    busy.wait_for_final_state(timeout=30)
    cancelled_after = time.monotonic() - started
    assert busy.status() is JobStatus.CANCELLED
    assert cancelled_after < 5, cancelled_after
    steps = busy.time_per_step()
    assert steps is not None and "RUNNING" in steps and "DONE" not in steps
    # One worker: the next job only runs this soon if the simulation was really stopped
    # (left alone, forever() keeps the worker for many seconds).
    follower = _small(provider)
    assert follower.result(timeout=TIMEOUT).success
    assert time.monotonic() - started < 15
    assert busy.status() is JobStatus.CANCELLED  # and it stays so
    with pytest.raises(exc.OpenQXJobInvalidStateError, match="cancelled"):
        busy.result()
    assert busy.error_message() is None
    assert busy.cancel() is True  # idempotent: the job is (still) cancelled


def test_a_job_queued_behind_a_cancelled_run_still_runs(
    provider: AccountProvider, busy: OpenQXJob
) -> None:
    """The job waiting for the worker must run on the replacement worker, not die with the
    killed one."""
    follower = _small(provider)
    assert follower.status() is JobStatus.QUEUED
    started = time.monotonic()
    assert busy.cancel() is True
    result = follower.result(timeout=TIMEOUT)  # fails with worker_died while the bug is there
    assert result.success and sum(result.get_counts().values()) == 20
    assert time.monotonic() - started < 15
    assert busy.status() is JobStatus.CANCELLED


def test_cancel_a_queued_job(provider: AccountProvider, busy: OpenQXJob) -> None:
    queued = _small(provider)
    assert queued.status() is JobStatus.QUEUED
    assert queued.cancel() is True
    assert queued.status() is JobStatus.CANCELLED  # at once: it never ran
    assert provider.backend.retrieve_job(queued.job_id()).status() is JobStatus.CANCELLED
    with pytest.raises(exc.OpenQXJobInvalidStateError):
        queued.result(timeout=5)
    assert busy.status() is JobStatus.RUNNING


# --- queue information and job_monitor ----------------------------------------------------------


def test_queue_position_queue_info_and_monitor(provider: AccountProvider, busy: OpenQXJob) -> None:
    first, second = _small(provider), _small(provider)
    assert first.queue_position(refresh=True) == 1
    assert second.queue_position(refresh=True) == 2
    assert busy.queue_position(refresh=True) is None
    assert busy.queue_info() is None
    info_1, info_2 = first.queue_info(), second.queue_info()
    assert info_1 is not None and info_2 is not None
    assert (info_1.position, info_2.position) == (1, 2)
    for info in (info_1, info_2):
        assert info.estimated_start_time is not None
        assert info.estimated_start_time.tzinfo is not None
        assert info.estimated_complete_time is not None
        assert info.estimated_start_time <= info.estimated_complete_time
    start_1, start_2 = info_1.estimated_start_time, info_2.estimated_start_time
    assert start_1 is not None and start_2 is not None and start_1 <= start_2
    assert "queue position: 2" in info_2.format()

    assert second.cancel() is True
    assert first.queue_position(refresh=True) == 1

    cancel = _CancelAfter(first, 3)  # after the third "queued" line is written
    output = _CountingOutput("queued (1)", cancel)
    job_monitor(first, interval=0.1, output=output)
    cancel.join()
    text = output.getvalue()
    assert text.startswith("\rJob Status: job is queued (1)")
    assert text.count("\rJob Status: job is queued (1)") >= 3  # a live, rewritten line
    assert text.rstrip().endswith("Job Status: job has been cancelled")
    assert text.endswith("\n")
    assert first.status() is JobStatus.CANCELLED
    assert first.queue_position(refresh=True) is None
    assert busy.status() is JobStatus.RUNNING


# --- results, failures -------------------------------------------------------------------------


def test_result_caching_and_refresh(provider: AccountProvider) -> None:
    job = _small(provider, shots=33)
    with _Requests(provider) as requests:
        result = job.result(timeout=TIMEOUT)
        assert job.result() is result
        # the result came with the stream's final event: no result request, no refresh
        assert requests.ending("/result") == 0
        assert requests.ending(f"/jobs/{job.job_id()}") == 0
        fresh = job.result(refresh=True)
        assert requests.ending("/result") == 1
    assert fresh is not result and fresh.get_counts() == result.get_counts()
    assert sum(result.get_counts().values()) == 33
    output = io.StringIO()
    job_monitor(job, output=output)
    assert output.getvalue() == "\rJob Status: job has successfully run\n"


def test_failed_job(provider: AccountProvider) -> None:
    backend = provider.get_backend("ibmq_qasm_simulator")
    # Aer's stabilizer method refuses the T gate at run time: the job fails on the worker.
    job = backend.run(transpile(not_clifford(), backend), shots=20, method="stabilizer")
    output = io.StringIO()
    job_monitor(job, interval=0.1, output=output)
    assert job.status() is JobStatus.ERROR
    assert "job incurred error - " in output.getvalue()
    message = job.error_message(timeout=10)
    assert message is not None and "Error code: simulation_failed" in message
    with pytest.raises(exc.OpenQXJobFailureError, match="Job has failed") as info:
        job.result()
    assert info.value.job_id == job.job_id()
    with pytest.raises(exc.OpenQXJobFailureError):
        job.result(partial=True)  # no experiment ran, so no partial result either
    assert job.cancel() is False


# --- changing jobs -----------------------------------------------------------------------------


def test_update_name(provider: AccountProvider) -> None:
    job = _small(provider, job_name="before")
    assert job.update_name("after") == "after"
    assert job.name() == "after"
    assert provider.backend.retrieve_job(job.job_id()).name() == "after"
    assert [j.job_id() for j in provider.backend.jobs(job_name="^after$")] == [job.job_id()]
    bad: Any
    for bad in (5, None, ["x"], "n" * 257):
        with pytest.raises(exc.OpenQXJobInvalidStateError):
            job.update_name(bad)
    assert provider.backend.retrieve_job(job.job_id()).name() == "after"


def test_update_tags_with_set_semantics(provider: AccountProvider) -> None:
    set_tag = f"{JOB_SET_TAG_PREFIX}abc_"
    job = _small(provider, job_tags=["a", "b", set_tag])

    def stored() -> set[str]:
        return set(provider.backend.retrieve_job(job.job_id()).tags())

    assert set(job.update_tags(replacement_tags=["x", "y"])) == {"x", "y", set_tag}
    assert stored() == {"x", "y", set_tag}
    assert set(job.update_tags(additional_tags=["z", "x"])) == {"x", "y", "z", set_tag}
    assert set(job.update_tags(removal_tags=["x", set_tag, "missing"])) == {"y", "z", set_tag}
    assert set(job.update_tags(additional_tags=["q"], removal_tags=["q"])) == {"y", "z", set_tag}
    assert set(job.update_tags(replacement_tags=["r"], removal_tags=["r"])) == {set_tag}
    assert set(job.update_tags(replacement_tags=[])) == {set_tag}
    assert stored() == {set_tag}
    job.update_tags(additional_tags=["found-me"])
    assert [j.job_id() for j in provider.backend.jobs(job_tags=["found-me"])] == [job.job_id()]
    with pytest.raises(exc.OpenQXJobInvalidStateError, match="none of the parameters"):
        job.update_tags()
    bad: Any
    for bad in ("tag", [1], {"a"}, ["ok", None], ["t"] * 101, [""]):
        with pytest.raises(exc.OpenQXJobInvalidStateError):
            job.update_tags(additional_tags=bad)
    assert stored() == {set_tag, "found-me"}


# --- job information ---------------------------------------------------------------------------


def test_job_information_for_a_device_job(provider: AccountProvider) -> None:
    backend = provider.get_backend("fake_manila")
    circuit = transpile(ghz(3), backend, seed_transpiler=3)
    job = backend.run(circuit, shots=50, header={"k": "v"}, experiment_id="exp-info")
    assert job.result(timeout=TIMEOUT).success
    again = provider.backend.retrieve_job(job.job_id())
    steps = again.time_per_step()
    assert steps is not None
    assert list(steps)[:1] == ["CREATING"] and list(steps)[-1] == "DONE"
    assert "RUNNING" in steps and all(when.tzinfo is not None for when in steps.values())
    assert list(steps.values()) == sorted(steps.values())
    assert again.scheduling_mode() in ("fairshare", "dedicated")
    assert again.circuits() == [circuit]
    assert again.backend_options()["shots"] == 50
    assert again.header() == {"k": "v"}
    assert again.experiment_id == "exp-info"
    versions = again.client_version
    assert versions.get("openqx") not in (None, "unknown") and "qiskit" in versions
    # the calibration snapshot the job ran with
    properties = again.properties()
    assert properties is not None
    expected = backend.properties()
    assert expected is not None
    assert properties.to_dict() == expected.to_dict()
    # a simulator job has none
    assert _small(provider).properties() is None


def test_refresh_sees_changes_made_elsewhere(
    provider: AccountProvider, server: EmbeddedServer
) -> None:
    from openqx import OpenQX

    job = _small(provider, job_name="original")
    other = OpenQX.enable_account(server.token, url=server.url).backend.retrieve_job(job.job_id())
    other.update_name("renamed")
    other.update_tags(replacement_tags=["new"])
    assert job.name() == "original"
    job.refresh()
    assert job.name() == "renamed" and job.tags() == ["new"]
    job.wait_for_final_state(timeout=TIMEOUT)


def test_waiting_for_jobs_keeps_the_connections(provider: AccountProvider) -> None:
    """A status stream is read to its end (the server ends it after the final status), so
    its connection serves the next request: jobs waited for one after the other open no new
    connection."""
    connects: list[str] = []

    def trace(name: str, info: dict[str, Any]) -> None:
        if name == "connection.connect_tcp.complete":
            connects.append(name)

    def traced(request: httpx.Request) -> None:
        request.extensions["trace"] = trace

    hooks = provider.api_client._http.event_hooks["request"]
    hooks.append(traced)
    try:
        backend = provider.get_backend("ibmq_qasm_simulator")
        circuit = transpile(ghz(2), backend)
        backend.run(circuit, shots=10).result()  # the pool opens the connections it needs
        connects.clear()
        for _ in range(3):
            assert backend.run(circuit, shots=10).result().get_counts()
    finally:
        hooks.remove(traced)
    assert connects == []


def test_waiting_for_a_job_run_here_takes_no_request_of_its_own(
    provider: AccountProvider, busy: OpenQXJob
) -> None:
    """``backend.run`` has the submission answered with the job's status stream and follows
    it: the job waits behind the busy worker, then ``result()`` takes what the stream said."""
    backend = provider.get_backend("ibmq_qasm_simulator")
    circuit = transpile(ghz(2), backend)
    with _Requests(provider) as requests:
        job = backend.run(circuit, shots=20)
        assert job.status() is JobStatus.QUEUED  # a status request of its own, as asked
        busy.cancel()
        counts = job.result(timeout=TIMEOUT).get_counts()
    assert sum(counts.values()) == 20
    mine = [path for path in requests.paths if busy.job_id() not in path]
    assert mine == ["/v1/jobs", f"/v1/jobs/{job.job_id()}/status"]
