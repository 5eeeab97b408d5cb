"""Micro-batching: jobs of one device with the same key run as one executor request and one
Aer call, each keeping its own result, error, cancellation and usage."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest
from qiskit import QuantumCircuit, transpile
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.execution import runner
from openqx.execution.inline import InlineExecutor
from openqx.execution.port import BATCH_KIND, ExecutionError, ExecutionRequest, Started
from openqx.scheduler.batching import batch_key
from openqx.scheduler.dispatcher import WORKER_DIED
from openqx.store.blobs import MemoryBlobStore
from openqx.store.memory_store import MemoryJobStore
from openqx.store.records import JobRecord
from tests.unit.execution.helpers import ghz, qpy_bytes

from .conftest import MakeDispatcher, SubmitJob
from .fakes import WAIT_S, ControlledExecutor

MANILA = FakeManilaV2()


def isa(qubits: int) -> QuantumCircuit:
    """A GHZ circuit on ``qubits`` qubits transpiled for fake_manila."""
    return transpile(ghz(qubits), MANILA, seed_transpiler=1)


class CountingExecutor(InlineExecutor):
    """An ``InlineExecutor`` that records what it was handed and can hold the work until
    ``release`` is set (a batch that is running)."""

    def __init__(self, *, held: bool = False) -> None:
        super().__init__(1)
        self.requests: list[ExecutionRequest] = []
        self.started = threading.Event()
        self.release = threading.Event()
        if not held:
            self.release.set()

    def submit(
        self, request: ExecutionRequest, started: Started | None = None
    ) -> Future[dict[str, Any]]:
        self.requests.append(request)
        gate: Future[dict[str, Any]] = Future()
        inner = super().submit(request, started)

        def hold() -> None:
            self.started.set()
            assert self.release.wait(WAIT_S)
            try:
                gate.set_result(inner.result(WAIT_S))
            except BaseException as exc:
                gate.set_exception(exc)

        threading.Thread(target=hold, daemon=True).start()
        return gate

    def __enter__(self) -> CountingExecutor:
        return self


class BatchingControlled(ControlledExecutor):
    """A ``ControlledExecutor`` that takes micro-batches (the test completes them)."""

    runs_batches = True


def wait_until(check: Callable[[], bool]) -> None:
    """Wait (at most WAIT_S) for a state another thread brings about."""
    pause = threading.Event()
    for _ in range(int(WAIT_S * 20)):
        if check():
            return
        pause.wait(0.05)
    assert check()


def wait_final(store: MemoryJobStore, job_ids: list[str]) -> list[JobRecord]:
    wait_until(lambda: all(store.get_job(j).status.is_final for j in job_ids))
    return [store.get_job(j) for j in job_ids]


def run_one_batch(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    submit: SubmitJob,
    make_dispatcher: MakeDispatcher,
) -> tuple[CountingExecutor, list[JobRecord]]:
    """Three 2-qubit jobs of 30 shots, claimed in one pass (a micro-batch) and run to their
    end: the executor that ran them and the jobs' final records."""
    jobs = [submit(shots=30) for _ in range(3)]
    for job in jobs:
        blobs.put(job.payload_key, qpy_bytes([isa(2)]))
    with CountingExecutor() as executor:
        make_dispatcher(job_executor=executor).run_once()
        finals = wait_final(store, [j.id for j in jobs])
    return executor, finals


def result_of(blobs: MemoryBlobStore, record: JobRecord) -> dict[str, Any]:
    assert record.result_key is not None
    data: dict[str, Any] = json.loads(blobs.get(record.result_key))
    return data


def alone(record: JobRecord, payload: bytes, seed: int) -> dict[str, Any]:
    """The job run by itself with ``seed`` (what a user rerunning it would get)."""
    return runner.run_request(
        ExecutionRequest(
            job_id=record.id,
            kind=record.kind,
            backend=record.backend,
            snapshot_id=record.snapshot_id,
            payload=payload,
            shots=record.shots or 0,
            memory=record.memory,
            header=dict(record.header),
            options={**record.options, "seed_simulator": seed},
        )
    )


# --- batch formation -------------------------------------------------------------------
def test_a_batch_takes_the_next_jobs_in_fair_share_order_with_the_first_jobs_key(
    store: MemoryJobStore, submit: SubmitJob
) -> None:
    store.create_user("bob", "bob-token", instances=["hub/group/other"])
    bob = store.user_for_token("bob-token")
    alice_jobs = [submit(shots=100) for _ in range(4)]
    odd = submit(shots=200)  # another key: stays queued in its place
    bob_jobs = [submit(shots=100, owner_id=bob.id, instance="hub/group/other") for _ in range(4)]
    order = store.fair_queue("fake_manila")
    assert set(order[:2]) == {alice_jobs[0].id, bob_jobs[0].id}  # fair share interleaves

    claimed = store.claim_batch("fake_manila", "w", 60.0, key=batch_key, limit=5)

    expected = [j for j in order if j != odd.id][:5]
    assert [r.id for r in claimed] == expected
    assert all(r.status is JobStatus.RUNNING and r.lease_owner == "w" for r in claimed)
    assert all(r.attempts == 1 for r in claimed)
    assert store.get_job(odd.id).status is JobStatus.QUEUED
    rest = store.claim_batch("fake_manila", "w", 60.0, key=batch_key, limit=64)
    assert odd.id not in [r.id for r in rest] or [r.id for r in rest] == [odd.id]


def test_jobs_with_their_own_seed_or_another_kind_run_alone(
    store: MemoryJobStore, submit: SubmitJob
) -> None:
    seeded = submit(options={"seed_simulator": 7})
    submit()
    submit(options={"init_qubits": False})
    assert batch_key(seeded) is None
    assert [r.id for r in store.claim_batch("fake_manila", "w", 60.0, key=batch_key, limit=8)] == [
        seeded.id
    ]
    second = store.claim_batch("fake_manila", "w", 60.0, key=batch_key, limit=8)
    assert len(second) == 1  # the init_qubits=False job has no key: never joins
    third = store.claim_batch("fake_manila", "w", 60.0, key=batch_key, limit=8)
    assert len(third) == 1 and batch_key(third[0]) is None


def test_a_single_job_is_handed_over_as_itself(
    store: MemoryJobStore, submit: SubmitJob, make_dispatcher: MakeDispatcher
) -> None:
    executor = BatchingControlled()
    job = submit()
    make_dispatcher(job_executor=executor).run_once()
    assert list(executor.requests) == [job.id]
    assert executor.requests[job.id].kind == "circuits"


def test_a_batch_takes_one_slot_of_its_devices_concurrency(
    store: MemoryJobStore, submit: SubmitJob, make_dispatcher: MakeDispatcher
) -> None:
    executor = BatchingControlled()
    jobs = [submit() for _ in range(5)]
    dispatcher = make_dispatcher(job_executor=executor, capacity=2, concurrency=lambda b: 1)
    dispatcher.run_once()
    (request,) = executor.requests.values()
    assert request.kind == BATCH_KIND
    assert [r.job_id for r in request.batch] == [j.id for j in jobs]
    assert dispatcher.slots_in_use("fake_manila") == 1
    assert dispatcher.running_on("fake_manila") == 5


def test_a_batch_whose_worker_died_sends_every_job_back_to_the_queue(
    store: MemoryJobStore, submit: SubmitJob, make_dispatcher: MakeDispatcher
) -> None:
    executor = BatchingControlled()
    jobs = [submit() for _ in range(3)]
    make_dispatcher(job_executor=executor).run_once()
    (batch_id,) = executor.requests
    executor.fail(batch_id, ExecutionError("worker process died", WORKER_DIED))
    wait_until(lambda: all(store.get_job(j.id).status is JobStatus.QUEUED for j in jobs))
    assert all(store.get_job(j.id).attempts == 1 for j in jobs)


def test_every_job_of_a_batch_is_leased_and_renewed(
    store: MemoryJobStore, submit: SubmitJob, make_dispatcher: MakeDispatcher, clock: ManualClock
) -> None:
    executor = BatchingControlled()
    jobs = [submit() for _ in range(3)]
    dispatcher = make_dispatcher(job_executor=executor)
    dispatcher.run_once()
    before = [store.get_job(j.id).lease_expires_at for j in jobs]
    clock.advance(30.0)
    dispatcher.run_once()  # heartbeat due
    after = [store.get_job(j.id).lease_expires_at for j in jobs]
    assert all(
        a is not None and b is not None and a > b for a, b in zip(after, before, strict=True)
    )


# --- per-job semantics on a real executor ------------------------------------------------
@pytest.mark.parametrize("backend", ["fake_manila", "simulator_statevector"])
def test_each_job_of_a_batch_gets_what_running_it_alone_with_its_seed_gives(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    submit: SubmitJob,
    make_dispatcher: MakeDispatcher,
    backend: str,
) -> None:
    payloads = {}
    jobs = []
    for i in range(6):
        job = submit(backend=backend, shots=100, header={"mine": i})
        payloads[job.id] = qpy_bytes([isa(2 + i % 4), isa(2 + (i + 1) % 4)])
        blobs.put(job.payload_key, payloads[job.id])
        jobs.append(job)
    with CountingExecutor() as executor:
        make_dispatcher(job_executor=executor).run_once()
        finals = wait_final(store, [j.id for j in jobs])
    assert [r.kind for r in executor.requests] == [BATCH_KIND]  # one hand-over, one Aer run
    seeds = []
    for record in finals:
        assert record.status is JobStatus.DONE, record.error_message
        result = result_of(blobs, record)
        assert result["job_id"] == record.id
        assert result["header"]["mine"] == int(jobs.index(record_of(jobs, record.id)))
        seed = result["results"][0]["seed_simulator"]
        seeds.append(seed)
        expected = alone(record, payloads[record.id], seed)
        got = [e["data"]["counts"] for e in result["results"]]
        assert got == [e["data"]["counts"] for e in expected["results"]]
        if backend == "fake_manila":  # device time is the job's own
            assert result["metadata"]["usage"] == expected["metadata"]["usage"]
            assert record.usage_seconds == pytest.approx(
                expected["metadata"]["usage"]["quantum_seconds"]
            )
        else:  # host seconds: the job's share of the batch's Aer run, not the whole run
            assert record.usage_seconds == pytest.approx(result["time_taken"])
    assert len(set(seeds)) == len(seeds)


def record_of(jobs: list[JobRecord], job_id: str) -> JobRecord:
    return next(j for j in jobs if j.id == job_id)


def test_cancelling_one_job_of_a_running_batch_leaves_the_others_done(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    submit: SubmitJob,
    make_dispatcher: MakeDispatcher,
) -> None:
    jobs = [submit(shots=50) for _ in range(4)]
    for job in jobs:
        blobs.put(job.payload_key, qpy_bytes([isa(3)]))
    with CountingExecutor(held=True) as executor:
        dispatcher = make_dispatcher(job_executor=executor)
        dispatcher.run_once()
        assert executor.started.wait(WAIT_S)
        store.request_cancel(jobs[1].id)
        dispatcher.run_once()
        assert store.get_job(jobs[1].id).status is JobStatus.CANCELLED  # at once
        executor.release.set()
        finals = wait_final(store, [j.id for j in jobs])
    assert [r.status for r in finals] == [
        JobStatus.DONE,
        JobStatus.CANCELLED,
        JobStatus.DONE,
        JobStatus.DONE,
    ]
    assert finals[1].result_key is None
    assert all(
        result_of(blobs, r)["results"][0]["shots"] == 50 for r in finals if r is not finals[1]
    )


def test_a_failing_experiment_fails_only_its_job(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    submit: SubmitJob,
    make_dispatcher: MakeDispatcher,
) -> None:
    too_big = QuantumCircuit(40, 40, name="too_big")  # no memory for a 40-qubit statevector
    too_big.h(range(40))
    too_big.t(range(40))
    for q in range(39):
        too_big.cx(q, q + 1)
    too_big.measure(range(40), range(40))
    jobs = [submit(backend="simulator_statevector", shots=20) for _ in range(3)]
    blobs.put(jobs[0].payload_key, qpy_bytes([ghz(2)]))
    blobs.put(jobs[1].payload_key, qpy_bytes([too_big]))
    blobs.put(jobs[2].payload_key, qpy_bytes([ghz(3)]))
    with CountingExecutor() as executor:
        make_dispatcher(job_executor=executor).run_once()
        finals = wait_final(store, [j.id for j in jobs])
    assert [r.kind for r in executor.requests] == [BATCH_KIND]
    assert [r.status for r in finals] == [JobStatus.DONE, JobStatus.ERROR, JobStatus.DONE]
    assert finals[1].error_code == "simulation_failed"
    assert "Insufficient memory" in (finals[1].error_message or "")
    assert set(result_of(blobs, finals[2])["results"][0]["data"]["counts"]) <= {"0x0", "0x7"}


def test_a_job_whose_payload_does_not_decode_fails_alone(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    submit: SubmitJob,
    make_dispatcher: MakeDispatcher,
) -> None:
    jobs = [submit(shots=30) for _ in range(3)]
    blobs.put(jobs[0].payload_key, qpy_bytes([isa(2)]))
    blobs.put(jobs[1].payload_key, b"not qpy at all")
    blobs.put(jobs[2].payload_key, qpy_bytes([isa(4)]))
    with CountingExecutor() as executor:
        make_dispatcher(job_executor=executor).run_once()
        finals = wait_final(store, [j.id for j in jobs])
    assert [r.kind for r in executor.requests] == [BATCH_KIND]
    assert [r.status for r in finals] == [JobStatus.DONE, JobStatus.ERROR, JobStatus.DONE]
    assert finals[1].error_code == "bad_payload"


def test_time_limit_stops_every_job_of_a_batch(
    store: MemoryJobStore,
    blobs: MemoryBlobStore,
    submit: SubmitJob,
    make_dispatcher: MakeDispatcher,
    clock: ManualClock,
) -> None:
    executor = BatchingControlled()
    jobs = [submit() for _ in range(3)]
    dispatcher = make_dispatcher(job_executor=executor, time_limit=lambda backend: 5.0)
    dispatcher.run_once()
    (batch_id,) = executor.requests
    clock.advance(6.0)
    dispatcher.run_once()
    assert executor.cancel_calls == [batch_id]  # the batch is stopped once, for all
    for job in jobs:
        record = store.get_job(job.id)
        assert record.status is JobStatus.ERROR and record.error_code == "time_limit_exceeded"


def test_a_batch_time_limit_runs_from_when_its_worker_begins_it(
    store: MemoryJobStore, submit: SubmitJob, make_dispatcher: MakeDispatcher, clock: ManualClock
) -> None:
    executor = BatchingControlled(begins_on_submit=False)  # its worker is still starting up
    jobs = [submit() for _ in range(2)]
    dispatcher = make_dispatcher(job_executor=executor, time_limit=lambda backend: 5.0)
    dispatcher.run_once()
    (batch_id,) = executor.requests
    clock.advance(60.0)  # the start-up takes longer than the limit: it does not count
    dispatcher.run_once()
    assert executor.cancel_calls == []
    executor.begin(batch_id)
    clock.advance(4.9)
    dispatcher.run_once()
    assert executor.cancel_calls == []
    clock.advance(0.1)
    dispatcher.run_once()
    assert executor.cancel_calls == [batch_id]
    assert {store.get_job(job.id).error_code for job in jobs} == {"time_limit_exceeded"}


def test_executors_that_do_not_run_batches_get_one_job_at_a_time(
    store: MemoryJobStore, submit: SubmitJob, make_dispatcher: MakeDispatcher
) -> None:
    executor = ControlledExecutor()
    jobs = [submit() for _ in range(3)]
    make_dispatcher(job_executor=executor, capacity=3).run_once()
    assert sorted(executor.requests) == sorted(j.id for j in jobs)
    assert all(dataclasses.asdict(r)["batch"] == () for r in executor.requests.values())
