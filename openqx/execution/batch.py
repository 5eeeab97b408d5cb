"""Micro-batches: several jobs handed to an executor as one request, run in one Aer call.

Parent side, ``BatchRun``: the jobs of a batch go to the executor as one ``ExecutionRequest``
(``kind`` ``"batch"``, the jobs in ``batch``), so any executor whose workers run
``runner.run_request`` runs batches (inline threads, worker processes, Dask); each job gets
its own future, resolved from the batch's outcome. Cancelling one job of a batch resolves its
future at once and leaves the batch running for the others; when every job of the batch is
cancelled (or timed out) the batch itself is cancelled, which stops its worker.

Worker side, ``run_batch``: every job's payload is decoded on its own (one that does not
decode fails alone, before anything runs); then the jobs' circuits run together:

- emulated devices: ``emulation.run_emulated_batch``, one Aer call per set of active qubits;
- ideal simulators: one Aer call for every circuit of the jobs without a seed;
- anything else (a served ``BackendV2``, runtime programs, a job with its own seed on an ideal
  simulator): the job runs alone, in the same worker call.

Each job's result is what running it alone gives with ``seed_simulator`` set to its first
experiment's ``seed_simulator`` (Aer seeds the experiments of one call from the call's seed,
so a job's seed is the seed of its first experiment). Its header, usage and ``time_taken``
(its share of the Aer call) are its own. If Aer refuses a shared call as a whole, its jobs run
one by one, so a job Aer refuses fails alone; a job whose experiments fail is a job with failed
experiments, the others are not affected.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, InvalidStateError
from typing import TYPE_CHECKING, Any

from openqx.core import errors
from openqx.execution import circuits as circuit_tools
from openqx.execution import results
from openqx.execution.port import (
    BATCH_KIND,
    ExecutionError,
    ExecutionRequest,
    JobExecutor,
    Started,
)

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

    from openqx.devices.catalog import DeviceCatalog
    from openqx.devices.device import Device

__all__ = ["BatchRun", "batch_request", "run_batch"]

_Result = dict[str, Any]


def batch_request(batch_id: str, requests: Sequence[ExecutionRequest]) -> ExecutionRequest:
    """The one request that carries ``requests`` (same backend, snapshot and run options) to
    a worker; it carries their shared options too (an executor may route by them)."""
    first = requests[0]
    return ExecutionRequest(
        job_id=batch_id,
        kind=BATCH_KIND,
        backend=first.backend,
        snapshot_id=first.snapshot_id,
        payload=b"",
        shots=first.shots,
        memory=first.memory,
        options={k: v for k, v in first.options.items() if k != "parameter_binds"},
        devices=first.devices,
        batch=tuple(requests),
    )


# --- worker side ----------------------------------------------------------------------------
def run_batch(request: ExecutionRequest, catalog: DeviceCatalog | None = None) -> _Result:
    """Run a batch's jobs; return ``{"batch": [outcome, ...]}`` in the jobs' order, each
    outcome ``{"result": <Result JSON>}`` or ``{"error": {"code": ..., "message": ...}}``.

    Raises:
        ExecutionError: what fails every job of the batch (unknown backend or snapshot).
    """
    from openqx.devices.catalog import default_catalog
    from openqx.execution import emulation, runner

    members = list(request.batch)
    try:
        device = (catalog or default_catalog()).get(request.backend)
    except errors.BackendNotFoundError as exc:
        raise ExecutionError(exc.message, "backend_not_found") from exc
    outcomes: list[_Result | ExecutionError | None] = [None] * len(members)
    decoded: dict[int, list[QuantumCircuit]] = {}
    alone: list[int] = []
    for index, member in enumerate(members):
        if member.kind != "circuits" or device.backend is not None:
            alone.append(index)
            continue
        try:
            loaded = circuit_tools.load_qpy(member.payload)
            decoded[index] = circuit_tools.bind_parameters(
                loaded, member.options.get("parameter_binds")
            )
        except ExecutionError as exc:
            outcomes[index] = exc
    if emulation.is_emulated(device):
        _run_emulated(device, members, decoded, outcomes)
    else:
        for index in [i for i in decoded if members[i].options.get("seed_simulator") is not None]:
            del decoded[index]
            alone.append(index)
        _run_ideal(device, members, decoded, outcomes)
    for index in sorted(alone):
        outcomes[index] = _alone(runner.run_request, members[index], catalog)
    return {"batch": [_encode(o) for o in outcomes]}


def _alone(
    run: Any, member: ExecutionRequest, catalog: DeviceCatalog | None
) -> _Result | ExecutionError:
    try:
        result: _Result = run(member, catalog)
    except ExecutionError as exc:
        return exc
    except Exception as exc:
        return ExecutionError(f"internal error: {type(exc).__name__}: {exc}", "internal")
    return result


def _run_emulated(
    device: Device,
    members: Sequence[ExecutionRequest],
    decoded: dict[int, list[QuantumCircuit]],
    outcomes: list[_Result | ExecutionError | None],
) -> None:
    from openqx.execution import emulation

    if not decoded:
        return
    indices = sorted(decoded)
    first = members[indices[0]]
    options = {k: v for k, v in first.options.items() if k != "parameter_binds"}
    try:
        datas = emulation.run_emulated_batch(
            device,
            first.snapshot_id,
            [decoded[i] for i in indices],
            shots=first.shots,
            memory=first.memory,
            options=options,
            seeds=[members[i].options.get("seed_simulator") for i in indices],
        )
    except ExecutionError as exc:
        for index in indices:
            outcomes[index] = exc
        return
    for index, data in zip(indices, datas, strict=True):
        outcomes[index] = (
            data if isinstance(data, ExecutionError) else _job_result(data, members[index])
        )


def _run_ideal(
    device: Device,
    members: Sequence[ExecutionRequest],
    decoded: dict[int, list[QuantumCircuit]],
    outcomes: list[_Result | ExecutionError | None],
) -> None:
    """One Aer call for the jobs' circuits; if Aer refuses it, each job alone."""
    from openqx.execution import runner

    if not decoded:
        return
    indices = sorted(decoded)
    first = members[indices[0]]
    simulator_options = {
        key: first.options[key]
        for key in runner.SIMULATOR_OPTIONS
        if first.options.get(key) is not None
    }

    def run(experiments: list[QuantumCircuit]) -> Any:
        return runner.run_experiments(
            device,
            first.snapshot_id,
            experiments,
            shots=first.shots,
            memory=first.memory,
            simulator_options=simulator_options,
        )

    try:
        data = run([c for i in indices for c in decoded[i]]).to_dict()
    except ExecutionError as exc:
        if len(indices) == 1:
            outcomes[indices[0]] = exc
            return
        for index in indices:  # find the job Aer refuses
            _run_ideal(device, members, {index: decoded[index]}, outcomes)
        return
    experiments = data.get("results", [])
    total = max(1, len(experiments))
    position = 0
    for index in indices:
        count = len(decoded[index])
        mine = experiments[position : position + count]
        succeeded = all(e.get("success") for e in mine)
        own = {  # Aer's success and status of a call cover every job's experiments
            **data,
            "results": mine,
            "success": succeeded,
            "status": "COMPLETED" if succeeded else "PARTIAL COMPLETED",
            "time_taken": float(data.get("time_taken") or 0.0) * count / total,
        }
        position += count
        outcomes[index] = _job_result(own, members[index])


def _job_result(data: dict[str, Any], member: ExecutionRequest) -> _Result | ExecutionError:
    """One job's result JSON from its share of a batch's ``Result`` dict (or why not)."""
    from qiskit.result import Result

    try:
        return results.result_json(Result.from_dict(data), member)
    except ExecutionError as exc:
        return exc


def _encode(outcome: _Result | Exception | None) -> _Result:
    if isinstance(outcome, ExecutionError):
        return {"error": {"code": outcome.code, "message": outcome.message}}
    if outcome is None or isinstance(outcome, Exception):
        return {"error": {"code": "internal", "message": f"internal error: {outcome!r}"}}
    return {"result": outcome}


# --- parent side ----------------------------------------------------------------------------
class BatchRun:
    """A batch handed to an executor as one request, with one future per job.

    Args:
        executor: runs the batch (``submit`` / ``cancel`` of the batch's own id).
        requests: the jobs (same backend, snapshot, shots, memory and run options).
        started: called when a worker begins the batch (``JobExecutor.submit``).

    Raises:
        ExecutionError, ExecutorClosedError: as ``executor.submit``.
    """

    def __init__(
        self,
        executor: JobExecutor,
        requests: Sequence[ExecutionRequest],
        started: Started | None = None,
    ) -> None:
        if not requests:
            raise ValueError("a batch needs at least one job")
        self.batch_id = f"batch-{uuid.uuid4().hex[:16]}"
        self.job_ids = [r.job_id for r in requests]
        self.futures: dict[str, Future[_Result]] = {job_id: Future() for job_id in self.job_ids}
        self._executor = executor
        self._lock = threading.Lock()
        self._combined = executor.submit(batch_request(self.batch_id, requests), started)
        self._combined.add_done_callback(self._split)

    def running(self) -> bool:
        """Whether the executor still runs the batch (its jobs' results may be being
        recorded after it stopped)."""
        return not self._combined.done()

    def cancel(self, job_id: str) -> bool:
        """End ``job_id``'s future cancelled (the others run on); True unless it had
        completed. Once every job's future is done, the batch itself is cancelled (its
        worker stopped)."""
        future = self.futures.get(job_id)
        if future is None:
            return False
        cancelled = future.cancel()
        with self._lock:
            everyone_done = all(f.done() for f in self.futures.values())
        if everyone_done and not self._combined.done():
            self._executor.cancel(self.batch_id)
        return cancelled

    def _split(self, combined: Future[_Result]) -> None:
        # Resolved in a thread of its own: the jobs' callbacks (recording each result) must
        # not hold the executor's thread that delivered the batch, which runs the next one.
        threading.Thread(
            target=self._resolve, args=(combined,), name=f"{self.batch_id}-results", daemon=True
        ).start()

    def _resolve(self, combined: Future[_Result]) -> None:
        if combined.cancelled():
            for future in self.futures.values():
                future.cancel()
            return
        error = combined.exception()
        if error is not None:
            for future in self.futures.values():
                _settle(future, error=error)
            return
        answer = combined.result()
        outcomes = answer.get("batch") if isinstance(answer, dict) else None
        if not isinstance(outcomes, list) or len(outcomes) != len(self.job_ids):
            bad = ExecutionError("the batch's answer does not list its jobs", "internal")
            for future in self.futures.values():
                _settle(future, error=bad)
            return
        for job_id, outcome in zip(self.job_ids, outcomes, strict=True):
            future = self.futures[job_id]
            if isinstance(outcome, dict) and isinstance(outcome.get("result"), dict):
                _settle(future, result=outcome["result"])
                continue
            failure = outcome.get("error") if isinstance(outcome, dict) else None
            failure = failure if isinstance(failure, dict) else {}
            _settle(
                future,
                error=ExecutionError(
                    str(failure.get("message") or "the job failed"),
                    str(failure.get("code") or "internal"),
                ),
            )


def _settle(
    future: Future[_Result], *, result: _Result | None = None, error: BaseException | None = None
) -> None:
    """Resolve ``future`` unless it is done (a job cancelled meanwhile keeps its cancel)."""
    if future.done():
        return
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result or {})
    except InvalidStateError:  # cancelled between the check and the set
        pass
