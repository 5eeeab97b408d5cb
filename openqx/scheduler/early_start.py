"""A job handed to the executor while its submission is still being stored.

When a dispatcher is idle (nothing in flight or being recorded, no queued job it knows of, no
pass running), a validated submission is next in line whatever the scheduler's order: the
store transaction that queues it and the claim that follows would only confirm that. So the
submission hands the job to the executor first (``Dispatcher.start_early``) and stores it
while it runs; the claim that follows, made by the same thread under the dispatcher's pass
lock, adopts the running job instead of starting it (``Dispatcher.wake(early=...)``). The
job's time from submission to result loses the store and claim transactions (about 2 ms of
a GHZ-5 job's 10, ``benchmarks/README.md``).

Nothing is recorded before the claim: a job whose store fails, that another replica claims,
that is cancelled first, whose device's claim gets nothing (a maintenance), or whose
calibration snapshot changes before its claim is not adopted; its early run is stopped
(``JobExecutor.cancel``) and its result never read. The claim runs what it did claim as
usual. After such a drop, no job starts early for ``COOLDOWN_SECONDS``, and a device whose
last claim got nothing starts none early until a claim on it succeeds, so a stream of
submissions that keep failing to store (a user at their job limit, say) cannot keep the
workers busy. A user whose job limit is 0 never gets an early start
(``submission.store_job``). With several replicas on one database, two idle ones that take
submissions at the same moment would each start their own job early and then claim the
other's, older one, dropping both runs (on a Dask cluster each drop kills a worker's child
process); so no job starts early for ``REPLICA_QUIET_SECONDS`` after this replica heard of a
change another one made (``Dispatcher.heard_from_replica``). A lone replica, on SQLite or
PostgreSQL, hears of none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any, Protocol

from openqx.devices.worker_setup import DeviceSetup
from openqx.execution.port import ExecutionRequest
from openqx.scheduler.deadline import Deadline

__all__ = [
    "COOLDOWN_SECONDS",
    "REPLICA_QUIET_SECONDS",
    "EarlyStart",
    "RunnableJob",
    "execution_request",
]

COOLDOWN_SECONDS = 10.0
"""After an early run was dropped, no job starts early for this long."""

REPLICA_QUIET_SECONDS = 300.0
"""After a change made by another replica, no job starts early for this long: early starts
are for a replica that works alone (``benchmarks/README.md``, session 18: with two replicas
on one cluster, 6 of 9 early runs were dropped)."""


class RunnableJob(Protocol):
    """What a job's execution request is made of: a ``NewJob`` about to be stored or a
    claimed ``JobRecord``."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def backend(self) -> str: ...
    @property
    def snapshot_id(self) -> str | None: ...
    @property
    def shots(self) -> int | None: ...
    @property
    def memory(self) -> bool: ...
    @property
    def header(self) -> Mapping[str, Any]: ...
    @property
    def options(self) -> Mapping[str, Any]: ...
    @property
    def program_id(self) -> str | None: ...


def execution_request(
    job: RunnableJob, payload: bytes, snapshot_id: str | None, devices: DeviceSetup | None
) -> ExecutionRequest:
    """The request that runs ``job`` with ``payload``, calibration ``snapshot_id`` and the
    worker's device ``devices``."""
    return ExecutionRequest(
        job_id=job.id,
        kind=job.kind,
        backend=job.backend,
        snapshot_id=snapshot_id,
        payload=payload,
        shots=job.shots or 0,
        memory=job.memory,
        header=dict(job.header),
        options=dict(job.options),
        program_id=job.program_id,
        devices=devices,
    )


@dataclasses.dataclass(slots=True)
class EarlyStart:
    """A job started before it was stored (``Dispatcher.start_early``), until its claim.

    Attributes:
        request: what the executor runs.
        future: the executor's future of that run.
        deadline: the job's time limit, started by the executor when a worker begins it.
        adopted: the claim took the run as the job's.
        dropped: the run was stopped (no claim took it).
    """

    request: ExecutionRequest
    future: Future[dict[str, Any]]
    deadline: Deadline
    adopted: bool = False
    dropped: bool = False

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self.request.job_id

    def runs(self, claimed: RunnableJob) -> bool:
        """Whether this run is the one the claimed job would get: the request built from
        it (``execution_request``, with the calibration snapshot the claim gave it) is this
        run's."""
        mine = self.request
        return mine == execution_request(claimed, mine.payload, claimed.snapshot_id, mine.devices)
