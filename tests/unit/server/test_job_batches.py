"""``POST /jobs/batch`` (many jobs in one request, stored all together or not at all) and
``POST /jobs/wait`` (final records with small results, in the order asked)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from qiskit import QuantumCircuit

from openqx.core import wire
from openqx.core.access import INSTANCE_HEADER
from openqx.core.status import JobStatus
from openqx.server.events import Recorded
from openqx.server.routes import job_batches
from openqx.server.service import Service
from openqx.store.records import NewJob
from tests.unit.server.harness import (
    ADMIN_TOKEN,
    Harness,
    HeldExecutor,
    bell,
    open_harness,
    qpy_b64,
    small_catalog,
)

SIM = "ibmq_qasm_simulator"
BELL = qpy_b64(bell())
WAIT_S = 30.0


def _job(name: str, **fields: Any) -> dict[str, Any]:
    return {"backend": SIM, "qpy": BELL, "name": name, "shots": 32, **fields}


def _error(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert error["code"] == code, error
    return error


def _batch(h: Harness, jobs: list[dict[str, Any]], token: str, **headers: str) -> Any:
    return h.client.post(
        "/v1/jobs/batch", json={"jobs": jobs}, headers={**h.headers(token), **headers}
    )


def _wait(h: Harness, ids: list[str], token: str, timeout: float = 0.0) -> Any:
    return h.client.post(
        "/v1/jobs/wait", json={"ids": ids, "timeout": timeout}, headers=h.headers(token)
    )


def _own_jobs(h: Harness, token: str) -> list[dict[str, Any]]:
    """The caller's jobs as ``GET /jobs`` lists them (newest first)."""
    answer = h.client.get("/v1/jobs", params={"limit": 100}, headers=h.headers(token))
    assert answer.status_code == 200, answer.text
    jobs: list[dict[str, Any]] = answer.json()["jobs"]
    return jobs


def _wide(qubits: int) -> QuantumCircuit:
    circuit = QuantumCircuit(qubits)
    circuit.x(qubits - 1)
    circuit.measure_all()
    return circuit


# --- POST /jobs/batch -----------------------------------------------------------------------
def test_a_batch_stores_every_job_and_answers_them_in_order(
    held_harness: Harness, held: HeldExecutor
) -> None:
    h = held_harness
    token = h.new_user()
    blobs_before = len(h.blobs._data)
    names = [f"b{i}" for i in range(5)]
    answer = _batch(h, [_job(name, tags=[name]) for name in names], token)
    assert answer.status_code == 201, answer.text
    infos = wire.JobBatchInfo.model_validate(answer.json()).jobs
    assert [info.name for info in infos] == names
    assert [info.tags for info in infos] == [[name] for name in names]
    assert all(info.status.value == "QUEUED" and info.shots == 32 for info in infos)
    assert len({info.id for info in infos}) == 5
    listed = _own_jobs(h, token)
    assert sorted(job["id"] for job in listed) == sorted(info.id for info in infos)
    for info in infos:  # each its own job, with its own payload
        got = h.client.get(f"/v1/jobs/{info.id}", headers=h.headers(token))
        assert got.status_code == 200 and got.json()["name"] == info.name
        circuits = h.client.get(f"/v1/jobs/{info.id}/circuits", headers=h.headers(token))
        assert circuits.status_code == 200, circuits.text
    assert len(h.blobs._data) == blobs_before + 5
    # and they run: the dispatcher was woken
    first = held.next_job()
    assert first in {info.id for info in infos}
    held.finish(first)
    assert h.wait_final(first, token) == "DONE"


BAD_THIRD_JOB: list[tuple[dict[str, Any], int, str, str]] = [
    (_job("bad", shots=0), 400, "invalid_input", "shots"),
    (
        _job("bad", qpy=base64.b64encode(b"junk").decode()),
        400,
        "invalid_input",
        "QPY",
    ),
    (
        {"backend": "fake_manila", "qpy": qpy_b64(_wide(6)), "name": "bad"},
        400,
        "invalid_circuit",
        "6",
    ),
    ({"backend": "nope", "qpy": BELL, "name": "bad"}, 404, "backend_not_found", "nope"),
]


@pytest.mark.parametrize(("bad", "status", "code", "needle"), BAD_THIRD_JOB)
def test_one_invalid_job_refuses_the_batch_naming_it_and_stores_nothing(
    held_harness: Harness, bad: dict[str, Any], status: int, code: str, needle: str
) -> None:
    h = held_harness
    token = h.new_user()
    blobs_before = dict(h.blobs._data)
    jobs = [_job("ok0"), _job("ok1"), bad, _job("ok3")]
    error = _error(_batch(h, jobs, token), status, code)
    assert error["message"].startswith("Job 2: "), error
    assert needle in error["message"]
    assert _own_jobs(h, token) == []
    assert h.blobs._data == blobs_before


def test_a_schema_error_in_one_job_names_its_place_and_stores_nothing(
    held_harness: Harness,
) -> None:
    h = held_harness
    token = h.new_user()
    blobs_before = dict(h.blobs._data)
    jobs = [_job("ok0"), _job("ok1"), _job("bad", tags=["a", 3])]
    error = _error(_batch(h, jobs, token), 400, "invalid_input")
    assert "jobs.2.tags" in error["message"], error
    assert _own_jobs(h, token) == []
    assert h.blobs._data == blobs_before


def test_the_same_job_alone_gets_the_same_error_without_the_index(
    held_harness: Harness,
) -> None:
    h = held_harness
    token = h.new_user()
    bad = _job("bad", shots=0)
    alone = _error(
        h.client.post("/v1/jobs", json=bad, headers=h.headers(token)), 400, "invalid_input"
    )
    in_batch = _error(_batch(h, [_job("ok"), bad], token), 400, "invalid_input")
    assert in_batch["message"] == f"Job 1: {alone['message']}"


def test_a_batch_that_would_pass_the_job_limit_stores_nothing(
    held_harness: Harness, held: HeldExecutor
) -> None:
    h = held_harness
    limit = h.client.put(
        f"/v1/admin/backends/{SIM}/job_limit", json={"maximum_jobs": 3}, headers=h.headers()
    )
    assert limit.status_code == 200, limit.text
    token = h.new_user()
    first = h.submit(token)["id"]
    blobs_before = dict(h.blobs._data)

    error = _error(_batch(h, [_job(f"x{i}") for i in range(3)], token), 429, "job_limit_reached")
    assert error["message"] == (
        f"3 new jobs would exceed the maximum number of active jobs (3) on backend {SIM}: "
        "1 are active."
    )
    assert [job["id"] for job in _own_jobs(h, token)] == [first]
    assert h.blobs._data == blobs_before  # the payloads written first were removed again

    fits = _batch(h, [_job(f"y{i}") for i in range(2)], token)
    assert fits.status_code == 201, fits.text
    assert len(_own_jobs(h, token)) == 3
    assert len(h.blobs._data) == len(blobs_before) + 2

    other = h.new_user()  # the limit is per user
    assert _batch(h, [_job(f"z{i}") for i in range(3)], other).status_code == 201
    held.finish(held.next_job())


def test_a_one_job_batch_over_the_limit_keeps_the_single_job_message(
    held_harness: Harness,
) -> None:
    h = held_harness
    h.client.put(
        f"/v1/admin/backends/{SIM}/job_limit", json={"maximum_jobs": 1}, headers=h.headers()
    )
    token = h.new_user()
    h.submit(token)
    error = _error(_batch(h, [_job("one")], token), 429, "job_limit_reached")
    assert error["message"] == f"Maximum number of active jobs (1) on backend {SIM} reached."


def test_the_instance_header_files_every_job_of_the_batch(held_harness: Harness) -> None:
    h = held_harness
    token = h.new_user(instances=("hub/a/first", "hub/b/second"))
    answer = _batch(h, [_job("i0"), _job("i1")], token, **{INSTANCE_HEADER: "hub/b/second"})
    assert answer.status_code == 201, answer.text
    assert [job["instance"] for job in answer.json()["jobs"]] == ["hub/b/second"] * 2
    default = _batch(h, [_job("d0")], token)
    assert default.json()["jobs"][0]["instance"] == "hub/a/first"
    refused = _batch(h, [_job("n0")], token, **{INSTANCE_HEADER: "hub/c/theirs"})
    assert refused.status_code == 403, refused.text
    assert len(_own_jobs(h, token)) == 3


def test_an_empty_batch_is_refused(held_harness: Harness) -> None:
    h = held_harness
    token = h.new_user()
    answer = _batch(h, [], token)
    _error(answer, 400, "invalid_input")
    assert _own_jobs(h, token) == []


def test_a_batch_over_the_most_jobs_is_refused() -> None:
    with open_harness(
        executor=HeldExecutor(small_catalog()), max_payload_bytes=8 * 1024 * 1024
    ) as h:
        token = h.new_user()
        jobs = [_job("many")] * (wire.MAX_BATCH_JOBS + 1)
        error = _error(_batch(h, jobs, token), 400, "invalid_input")
        assert str(wire.MAX_BATCH_JOBS) in error["message"]
        assert _own_jobs(h, token) == []
        assert len(h.blobs._data) == 0


@pytest.mark.parametrize("body", ["{not json", '{"jobs": {"a": 1}}', '{"jobs": [1, 2]}'])
def test_a_malformed_batch_body_is_400(held_harness: Harness, body: str) -> None:
    h = held_harness
    answer = h.client.post(
        "/v1/jobs/batch",
        content=body.encode(),
        headers={**h.headers(h.new_user()), "Content-Type": "application/json"},
    )
    _error(answer, 400, "invalid_input")


@pytest.mark.parametrize("path", ["/v1/jobs/batch", "/v1/jobs/wait"])
@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_unauthenticated_is_401(harness: Harness, path: str, token: str | None) -> None:
    headers = {} if token is None else harness.headers(token)
    body = {"jobs": [_job("x")]} if path.endswith("batch") else {"ids": ["a" * 24]}
    answer = harness.client.post(path, json=body, headers=headers)
    assert answer.status_code == 401, answer.text
    assert _own_jobs(harness, harness.new_user()) == []


# --- POST /jobs/wait ------------------------------------------------------------------------
def _done_batch(h: Harness, token: str, count: int) -> list[str]:
    answer = _batch(h, [_job(f"w{i}", shots=40 + i) for i in range(count)], token)
    assert answer.status_code == 201, answer.text
    ids = [job["id"] for job in answer.json()["jobs"]]
    for job_id in ids:
        assert h.wait_final(job_id, token) == "DONE"
    return ids


def test_wait_answers_final_jobs_with_their_results_in_the_order_asked(
    harness: Harness,
) -> None:
    token = harness.new_user()
    ids = _done_batch(harness, token, 3)
    asked = list(reversed(ids))
    answer = _wait(harness, asked, token, timeout=5)
    assert answer.status_code == 200, answer.text
    finals = wire.JobFinals.model_validate(answer.json()).jobs
    assert [final.job.id for final in finals] == asked
    for final in finals:
        assert final.job.status.value == "DONE"
        assert final.result is not None
        fetched = harness.client.get(
            f"/v1/jobs/{final.job.id}/result", headers=harness.headers(token)
        )
        assert final.result == fetched.json()  # the stored result, as GET /result sends it
        (experiment,) = final.result["results"]
        assert sum(experiment["data"]["counts"].values()) == final.job.shots
    # an id asked twice is answered once
    twice = _wait(harness, [ids[0], ids[0]], token)
    assert [final["job"]["id"] for final in twice.json()["jobs"]] == [ids[0]]


def test_results_past_the_budget_are_left_to_the_result_request(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = harness.new_user()
    ids = _done_batch(harness, token, 2)
    key = harness.store.get_job(ids[0]).result_key
    assert key is not None
    monkeypatch.setattr(job_batches, "WAIT_RESULT_BUDGET_BYTES", harness.blobs.size(key) + 8)
    finals = _wait(harness, ids, token).json()["jobs"]
    assert [final["job"]["id"] for final in finals] == ids  # every final record comes
    assert finals[0]["result"] is not None and finals[1]["result"] is None


def test_a_final_job_whose_header_cannot_be_sent_comes_without_it(
    held_harness: Harness,
) -> None:
    # A header nested deeper than the API accepts, stored before the limits: the wait still
    # answers the job (a client waiting for it would otherwise wait for ever), header aside.
    h = held_harness
    token = h.new_user()
    user = h.store.user_for_token(token)
    deep: dict[str, Any] = {}
    for _ in range(500):
        deep = {"x": deep}
    job = h.store.create_job(
        NewJob(
            id="0" * 23 + "7",
            kind="circuits",
            backend=SIM,
            owner_id=user.id,
            instance=user.projects[0],
            num_circuits=1,
            shots=10,
            header=deep,
        )
    )
    h.store.finish_job(job.id, JobStatus.ERROR, error_code="start_failed", error_message="x")
    finals = _wait(h, [job.id], token).json()["jobs"]
    assert [(f["job"]["id"], f["job"]["status"], f["job"]["header"]) for f in finals] == [
        (job.id, "ERROR", {})
    ]


def test_wait_on_unfinished_jobs_answers_none_after_the_timeout(
    held_harness: Harness, held: HeldExecutor
) -> None:
    h = held_harness
    token = h.new_user()
    ids = [job["id"] for job in _batch(h, [_job("q0"), _job("q1")], token).json()["jobs"]]
    answer = _wait(h, ids, token, timeout=0)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"jobs": []}
    # one final among them: only it comes (a failed one: its record, no result)
    running = held.next_job()
    held.fail(running, "the backend broke")
    assert h.wait_final(running, token) == "ERROR"
    finals = _wait(h, ids, token, timeout=0).json()["jobs"]
    assert [final["job"]["id"] for final in finals] == [running]
    assert finals[0]["job"]["status"] == "ERROR" and finals[0]["result"] is None


def test_wait_wakes_when_a_job_ends(
    held_harness: Harness, held: HeldExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = held_harness
    token = h.new_user()
    job_id = h.submit(token)["id"]
    assert held.next_job() == job_id
    # without a wake-up the wait would last its whole timeout and answer no job
    monkeypatch.setattr(job_batches, "WAIT_POLL_SECONDS", 3600.0)
    read_once = threading.Event()
    finals_of = job_batches._finals
    calls: list[tuple[list[str], set[str]]] = []

    def reading(
        service: Service, ids: list[str], asked: list[str], ended: Mapping[str, Recorded]
    ) -> list[str]:
        calls.append((list(asked), set(ended)))
        found = finals_of(service, ids, asked, ended)
        read_once.set()
        return found

    monkeypatch.setattr(job_batches, "_finals", reading)
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(_wait, h, [job_id], token, WAIT_S)
        assert read_once.wait(WAIT_S)  # the wait has read the job (not final) and waits
        held.finish(job_id)
        answer = waiting.result(WAIT_S * 2)
    assert answer.status_code == 200, answer.text
    (final,) = answer.json()["jobs"]
    assert final["job"]["id"] == job_id and final["job"]["status"] == "DONE"
    # read at first; after the end, answered from what the dispatcher recorded: no read
    assert calls == [([job_id], set()), ([], {job_id})]
    assert final["result"]["results"][0]["success"] is True


def test_wait_on_a_job_the_caller_may_not_read_is_404(harness: Harness) -> None:
    owner = harness.new_user()
    (mine,) = _done_batch(harness, owner, 1)
    stranger = harness.new_user()
    own = harness.submit(stranger)["id"]
    error = _error(_wait(harness, [own, mine], stranger), 404, "job_not_found")
    assert mine in error["message"]
    # an admin may read it
    assert [f["job"]["id"] for f in _wait(harness, [mine], ADMIN_TOKEN).json()["jobs"]] == [mine]


def test_wait_on_an_unknown_job_is_404(harness: Harness) -> None:
    token = harness.new_user()
    error = _error(_wait(harness, ["f" * 24], token), 404, "job_not_found")
    assert "f" * 24 in error["message"]


@pytest.mark.parametrize(
    "body",
    [
        '{"ids": ["%s"], "timeout": 61}',
        '{"ids": ["%s"], "timeout": -1}',
        '{"ids": ["%s"], "timeout": NaN}',
        '{"ids": ["%s"], "timeout": Infinity}',
        '{"ids": ["%s"], "timeout": "soon"}',
        '{"ids": ["%s"], "timeout": "5"}',
        '{"ids": ["%s"], "timeout": true}',
        '{"ids": [], "timeout": 1}',
        '{"ids": "%s"}',
        '{"timeout": 1}',
    ],
)
def test_a_bad_wait_is_400(harness: Harness, body: str) -> None:
    token = harness.new_user()
    job_id = harness.submit(token)["id"]
    answer = harness.client.post(
        "/v1/jobs/wait",
        content=(body % job_id if "%s" in body else body).encode(),
        headers={**harness.headers(token), "Content-Type": "application/json"},
    )
    _error(answer, 400, "invalid_input")


def test_wait_on_more_ids_than_allowed_is_400(harness: Harness) -> None:
    token = harness.new_user()
    ids = [f"{i:024x}" for i in range(1001)]
    answer = harness.client.post(
        "/v1/jobs/wait", content=json.dumps({"ids": ids}), headers=harness.headers(token)
    )
    _error(answer, 400, "invalid_input")
