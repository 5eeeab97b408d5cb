"""Answers that depend on a job's state (RUNNING, QUEUED behind it, CANCELLED, ERROR), the job
limit and the status stream, on a service whose executor holds each job until the test ends
it (``HeldExecutor``): nothing here depends on how fast a simulation runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from openqx.core.clock import ManualClock
from openqx.core.run_options import DEFAULT_SHOTS
from openqx.core.wire import JobQuery
from openqx.scheduler.estimates import DEFAULT_RUN_SECONDS
from openqx.server.routes import jobs as job_routes
from tests.unit.server.harness import (
    WAIT_SECONDS,
    Harness,
    HeldExecutor,
    bell,
    open_harness,
    qpy_b64,
    running_status_sent,
    small_catalog,
)


def _get(harness: Harness, path: str, token: str) -> dict[str, Any]:
    answer = harness.client.get(path, headers=harness.headers(token))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _set_job_limit(harness: Harness, backend: str, maximum: int | None) -> None:
    """Set the server-wide job limit of ``backend`` (``None``: back to its default)."""
    path = f"/v1/admin/backends/{backend}/job_limit"
    if maximum is None:
        answer = harness.client.delete(path, headers=harness.headers())
    else:
        answer = harness.client.put(path, json={"maximum_jobs": maximum}, headers=harness.headers())
    assert answer.status_code == 200, answer.text


def _error(answer: Any, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code, answer.text
    message: str = answer.json()["error"]["message"]
    return message


def test_running_and_queued_jobs(held_harness: Harness, held: HeldExecutor) -> None:
    h = held_harness
    token = h.new_user()
    first = h.submit(token)["id"]
    assert held.next_job() == first
    second = h.submit(token)
    assert second["status"] == "QUEUED"
    assert second["queue_position"] == 1

    assert _get(h, f"/v1/jobs/{first}/status", token)["status"] == "RUNNING"
    assert _get(h, f"/v1/jobs/{second['id']}/status", token)["queue_position"] == 1
    assert _get(h, f"/v1/jobs/{second['id']}", token)["queue_position"] == 1
    running_info = _get(h, f"/v1/jobs/{first}/queue_info", token)
    assert running_info["status"] == "RUNNING"
    assert running_info["position"] is None
    pending = _get(h, "/v1/backends/ibmq_qasm_simulator/status", token)["pending_jobs"]
    assert pending == 1
    limit = _get(h, "/v1/backends/ibmq_qasm_simulator/job_limit", token)
    assert limit["active_jobs"] == 2

    for job_id in (first, second["id"]):
        message = _error(
            h.client.get(f"/v1/jobs/{job_id}/result", headers=h.headers(token)),
            409,
            "result_not_available",
        )
        assert "not available yet" in message

    held.finish(first)
    assert h.wait_final(first, token) == "DONE"
    assert held.next_job() == second["id"]
    held.finish(second["id"])
    assert h.wait_final(second["id"], token) == "DONE"
    assert _get(h, "/v1/backends/ibmq_qasm_simulator/status", token)["pending_jobs"] == 0


def test_cancel_a_queued_job_at_once(held_harness: Harness, held: HeldExecutor) -> None:
    h = held_harness
    token = h.new_user()
    running = h.submit(token)["id"]
    assert held.next_job() == running
    queued = h.submit(token)["id"]
    answer = h.client.post(f"/v1/jobs/{queued}/cancel", headers=h.headers(token))
    assert answer.status_code == 200
    assert answer.json() == {"cancelled": True, "status": "CANCELLED", "message": "Job cancelled."}
    assert h.events(queued, token)[-1]["status"] == "CANCELLED"
    message = _error(
        h.client.get(f"/v1/jobs/{queued}/result", headers=h.headers(token)), 409, "invalid_state"
    )
    assert "cancelled" in message
    again = h.client.post(f"/v1/jobs/{queued}/cancel", headers=h.headers(token))
    assert again.json()["cancelled"] is True
    assert again.json()["message"] == f"Job {queued} is already CANCELLED."
    held.finish(running)


def test_cancel_a_running_job_stops_it(held_harness: Harness, held: HeldExecutor) -> None:
    h = held_harness
    token = h.new_user()
    job_id = h.submit(token)["id"]
    assert held.next_job() == job_id
    answer = h.client.post(f"/v1/jobs/{job_id}/cancel", headers=h.headers(token))
    assert answer.status_code == 200
    # The answer waits for the stop: True only once the job is CANCELLED (the seed's meaning).
    assert answer.json() == {"cancelled": True, "status": "CANCELLED", "message": "Job cancelled."}
    assert _get(h, f"/v1/jobs/{job_id}/status", token)["status"] == "CANCELLED"


def test_a_running_job_that_does_not_stop_in_time_is_answered_false(
    held_harness: Harness, held: HeldExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:

    h = held_harness
    token = h.new_user()
    job_id = h.submit(token)["id"]
    assert held.next_job() == job_id
    monkeypatch.setattr(job_routes, "CANCEL_WAIT_SECONDS", 0.2)
    monkeypatch.setattr(held, "cancel", lambda job_id: False)  # the run cannot be stopped
    answer = h.client.post(f"/v1/jobs/{job_id}/cancel", headers=h.headers(token))
    assert answer.json() == {
        "cancelled": False,
        "status": "RUNNING",
        "message": "Cancellation requested; the job is still stopping and will end CANCELLED.",
    }
    held.finish(job_id)  # the simulation ends: the requested cancel still wins
    assert h.wait_final(job_id, token) == "CANCELLED"


def test_a_failed_job_reports_its_error(held_harness: Harness, held: HeldExecutor) -> None:
    h = held_harness
    token = h.new_user()
    job_id = h.submit(token)["id"]
    held.fail(held.next_job(), "the simulator ran out of memory", code="simulation_failed")
    assert h.wait_final(job_id, token) == "ERROR"
    status = _get(h, f"/v1/jobs/{job_id}/status", token)
    assert status["error"] == {
        "code": "simulation_failed",
        "message": "the simulator ran out of memory",
        "details": {},
    }
    for params in ({}, {"partial": "true"}):
        message = _error(
            h.client.get(f"/v1/jobs/{job_id}/result", params=params, headers=h.headers(token)),
            409,
            "invalid_state",
        )
        assert "Job has failed: the simulator ran out of memory" in message


def test_partial_result_of_failed_experiments(held_harness: Harness, held: HeldExecutor) -> None:
    h = held_harness
    token = h.new_user()
    job_id = h.submit(token)["id"]
    result = {
        "success": False,
        "backend_name": "ibmq_qasm_simulator",
        "job_id": job_id,
        "results": [{"success": False, "status": "ERROR: out of range", "shots": 1}],
    }
    held.complete(held.next_job(), result)
    assert h.wait_final(job_id, token) == "ERROR"
    error = _get(h, f"/v1/jobs/{job_id}", token)["error"]
    assert error["code"] == "experiments_failed"
    assert "The following experiments failed" in error["message"]
    whole = h.client.get(f"/v1/jobs/{job_id}/result", headers=h.headers(token))
    assert "Job has failed" in _error(whole, 409, "invalid_state")
    partial = h.client.get(
        f"/v1/jobs/{job_id}/result", params={"partial": "true"}, headers=h.headers(token)
    )
    assert partial.status_code == 200
    assert partial.json() == result


def test_job_limit_refuses_and_leaves_nothing_behind(
    held_harness: Harness, held: HeldExecutor
) -> None:
    h = held_harness
    _set_job_limit(h, "ibmq_qasm_simulator", 1)
    token = h.new_user()
    first = h.submit(token)["id"]
    blobs_before = set(h.blobs._data)
    refused = h.client.post(
        "/v1/jobs",
        json={"backend": "ibmq_qasm_simulator", "qpy": qpy_b64(bell())},
        headers=h.headers(token),
    )
    message = _error(refused, 429, "job_limit_reached")
    assert "ibmq_qasm_simulator" in message
    assert set(h.blobs._data) == blobs_before
    user = h.store.user_for_token(token)
    assert len(h.store.search_jobs(JobQuery(limit=None), visible_to=user)[0]) == 1

    other = h.new_user()
    assert h.submit(other)["status"] == "QUEUED"  # the limit is per user

    held.finish(held.next_job())
    assert h.wait_final(first, token) == "DONE"
    assert h.submit(token)["status"] == "QUEUED"


def test_a_job_over_a_limit_of_zero_is_never_handed_to_the_executor(
    held_harness: Harness, held: HeldExecutor
) -> None:
    """An idle service starts a submission's job while storing it (``early_start``), but
    not one its user may not queue at all."""
    h = held_harness
    _set_job_limit(h, "ibmq_qasm_simulator", 0)
    token = h.new_user()
    refused = h.client.post(
        "/v1/jobs",
        json={"backend": "ibmq_qasm_simulator", "qpy": qpy_b64(bell())},
        headers=h.headers(token),
    )
    _error(refused, 429, "job_limit_reached")

    _set_job_limit(h, "ibmq_qasm_simulator", None)
    accepted = h.submit(token)["id"]
    assert held.next_job() == accepted  # the first and only job the executor was given
    held.finish(accepted)
    assert h.wait_final(accepted, token) == "DONE"


def test_runtime_submissions_count_toward_the_limit_too(
    held_harness: Harness, held: HeldExecutor
) -> None:
    h = held_harness
    _set_job_limit(h, "simulator_statevector", 1)
    token = h.new_user()
    body = {
        "program_id": "circuit-runner",
        "backend": "simulator_statevector",
        "params": {"circuits": qpy_b64(bell())},
    }
    first = h.client.post("/v1/runtime/jobs", json=body, headers=h.headers(token))
    assert first.status_code == 201, first.text
    blobs_before = set(h.blobs._data)
    refused = h.client.post("/v1/runtime/jobs", json=body, headers=h.headers(token))
    _error(refused, 429, "job_limit_reached")
    assert set(h.blobs._data) == blobs_before
    held.fail(held.next_job(), "not needed")


def test_the_event_stream_follows_a_job_to_its_end(
    held_harness: Harness, held: HeldExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = held_harness
    token = h.new_user()
    job_id = h.submit(token)["id"]
    assert held.next_job() == job_id
    # Finish the job only after the stream has sent its first status (RUNNING), so both
    # events are certain.
    sent_running = running_status_sent(monkeypatch)
    events: list[dict[str, Any]] = []
    reader = threading.Thread(target=lambda: events.extend(h.events(job_id, token)))
    reader.start()
    assert sent_running.wait(WAIT_SECONDS)
    held.finish(job_id)
    reader.join(WAIT_SECONDS)
    assert [event["status"] for event in events] == ["RUNNING", "DONE"]
    assert all(event["id"] == job_id for event in events)


@pytest.fixture()
def clocked() -> Iterator[tuple[Harness, HeldExecutor, ManualClock]]:
    clock = ManualClock()
    executor = HeldExecutor(small_catalog())
    with open_harness(executor=executor, clock=clock) as harness:
        yield harness, executor, clock


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_queue_info_estimates_from_measured_run_times(
    clocked: tuple[Harness, HeldExecutor, ManualClock],
) -> None:
    h, held, clock = clocked
    token = h.new_user()
    jobs = [h.submit(token)["id"]]
    assert held.next_job() == jobs[0]
    started = clock.now()
    for _ in range(2):
        clock.advance(1)  # distinct creation times: a definite queue order
        jobs.append(h.submit(token)["id"])

    first_queued = _get(h, f"/v1/jobs/{jobs[1]}/queue_info", token)
    assert first_queued["position"] == 1
    assert first_queued["status"] == "QUEUED"
    now = clock.now()
    # One slot, held by the running job: the first queued job starts when it ends.
    mean = timedelta(seconds=DEFAULT_RUN_SECONDS)
    assert _at(first_queued["estimated_start_time"]) == now + mean
    assert _at(first_queued["estimated_complete_time"]) == now + 2 * mean
    second_queued = _get(h, f"/v1/jobs/{jobs[2]}/queue_info", token)
    assert second_queued["position"] == 2
    assert _at(second_queued["estimated_start_time"]) == now + 2 * mean
    # Fair-share factor 2 ** (-U/S): the only project, which has used the device (its
    # running job), has used exactly its share.
    assert second_queued["hub_priority"] == second_queued["project_priority"] == 0.5

    clock.advance(4)
    run_seconds = (clock.now() - started).total_seconds()
    held.finish(jobs[0])
    assert h.wait_final(jobs[0], token) == "DONE"
    assert held.next_job() == jobs[1]
    last = _get(h, f"/v1/jobs/{jobs[2]}/queue_info", token)
    assert last["position"] == 1
    run = timedelta(seconds=run_seconds)
    assert _at(last["estimated_start_time"]) == clock.now() + run  # after jobs[1]
    assert _at(last["estimated_complete_time"]) == clock.now() + 2 * run
    held.finish(jobs[1])


def test_a_device_job_keeps_the_snapshot_it_was_submitted_with(
    held_harness: Harness, held: HeldExecutor
) -> None:
    h = held_harness
    token = h.new_user()
    device = h.service.catalog.get("fake_manila")
    snapshot = device.current_snapshot()
    assert snapshot is not None
    info = h.submit(token, backend="fake_manila")
    assert info["shots"] == min(DEFAULT_SHOTS, device.max_shots)
    assert info["snapshot_id"] == snapshot.id
    assert held.next_job() == info["id"]
    properties = _get(h, f"/v1/jobs/{info['id']}/properties", token)
    assert properties == snapshot.properties
