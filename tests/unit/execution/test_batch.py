"""``execution.batch``: a micro-batch's jobs run in one worker call, each with its own outcome;
``BatchRun`` gives each job its own future and stops the batch when none is wanted."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Gate

from openqx.execution import batch, runner
from openqx.execution.port import BATCH_KIND, ExecutionError, ExecutionRequest, Started

from .helpers import ghz, qpy_bytes


def job(job_id: str, circuit: QuantumCircuit, **fields: Any) -> ExecutionRequest:
    values: dict[str, Any] = {
        "job_id": job_id,
        "kind": "circuits",
        "backend": "simulator_statevector",
        "snapshot_id": None,
        "payload": qpy_bytes([circuit]),
        "shots": 32,
        **fields,
    }
    return ExecutionRequest(**values)


def run(requests: list[ExecutionRequest]) -> list[dict[str, Any]]:
    answer = runner.run_request(batch.batch_request("batch-1", requests))
    outcomes: list[dict[str, Any]] = answer["batch"]
    return outcomes


def test_a_job_aer_refuses_fails_alone_when_the_shared_call_is_refused() -> None:
    mystery = QuantumCircuit(1, 1, name="mystery")
    mystery.append(Gate("mystery", 1, []), [0])  # Aer refuses the whole call for it
    mystery.measure(0, 0)
    outcomes = run([job("a", ghz(2)), job("b", mystery), job("c", ghz(3))])
    assert outcomes[1]["error"]["code"] == "simulation_failed"
    assert "mystery" in outcomes[1]["error"]["message"]
    assert set(outcomes[0]["result"]["results"][0]["data"]["counts"]) <= {"0x0", "0x3"}
    assert set(outcomes[2]["result"]["results"][0]["data"]["counts"]) <= {"0x0", "0x7"}


def test_a_job_with_its_own_seed_keeps_it() -> None:
    outcomes = run([job("a", ghz(2)), job("b", ghz(3), options={"seed_simulator": 1234})])
    seeded = outcomes[1]["result"]
    assert seeded["results"][0]["seed_simulator"] == 1234
    alone = runner.run_request(job("b", ghz(3), options={"seed_simulator": 1234}))
    assert seeded["results"][0]["data"]["counts"] == alone["results"][0]["data"]["counts"]


def test_each_outcome_is_its_jobs_own() -> None:
    outcomes = run(
        [job("a", ghz(2), header={"who": "a"}), job("b", ghz(3), shots=10, header={"who": "b"})]
    )
    first, second = (o["result"] for o in outcomes)
    assert (first["job_id"], first["header"]["who"]) == ("a", "a")
    assert (second["job_id"], second["header"]["who"]) == ("b", "b")
    assert len(first["results"]) == len(second["results"]) == 1
    assert first["success"] and first["status"] == "COMPLETED"


class RecordingExecutor:
    """Takes the batch request; the test completes its future."""

    runs_batches = True

    def __init__(self) -> None:
        self.requests: list[ExecutionRequest] = []
        self.future: Future[dict[str, Any]] = Future()
        self.cancelled: list[str] = []

    def submit(
        self, request: ExecutionRequest, started: Started | None = None
    ) -> Future[dict[str, Any]]:
        self.requests.append(request)
        if started is not None:
            started()
        return self.future

    def cancel(self, job_id: str) -> bool:
        self.cancelled.append(job_id)
        return self.future.cancel()

    def close(self) -> None:
        self.future.cancel()


def test_one_request_carries_the_jobs_and_each_gets_its_outcome() -> None:
    executor = RecordingExecutor()
    run_ = batch.BatchRun(executor, [job("a", ghz(2)), job("b", ghz(2))])
    (request,) = executor.requests
    assert request.kind == BATCH_KIND and request.job_id == run_.batch_id
    assert [r.job_id for r in request.batch] == ["a", "b"]
    executor.future.set_result(
        {"batch": [{"result": {"job_id": "a"}}, {"error": {"code": "bad", "message": "no"}}]}
    )
    assert run_.futures["a"].result(timeout=30) == {"job_id": "a"}
    with pytest.raises(ExecutionError, match="no") as failure:
        run_.futures["b"].result(timeout=30)
    assert failure.value.code == "bad"


def test_cancelling_every_job_cancels_the_batch_and_one_alone_does_not() -> None:
    executor = RecordingExecutor()
    run_ = batch.BatchRun(executor, [job("a", ghz(2)), job("b", ghz(2))])
    assert run_.cancel("a") is True
    assert run_.futures["a"].cancelled() and executor.cancelled == []
    assert run_.running()
    assert run_.cancel("b") is True
    assert executor.cancelled == [run_.batch_id] and not run_.running()
