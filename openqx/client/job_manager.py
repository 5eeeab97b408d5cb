"""``JobManager``: run many circuits as a set of jobs (the seed's ``IBMQJobManager``).

``run`` splits the circuits into jobs of at most ``min(backend max_experiments,
max_experiments_per_job)`` experiments, in input order, and submits them on a thread pool,
pacing itself on the backend's job limit. It returns a ``ManagedJobSet`` at once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from qiskit.circuit import QuantumCircuit

from openqx.client import exceptions as exc
from openqx.client.backend import OpenQXBackend
from openqx.client.managed import ManagedJobSet
from openqx.core import run_options
from openqx.core.job_sets import check_user_tags

if TYPE_CHECKING:
    from openqx.client.provider import AccountProvider

__all__ = ["DEFAULT_MAX_WORKERS", "JobManager", "split_experiments"]

DEFAULT_MAX_WORKERS = 8
"""Threads that submit jobs concurrently (shared by every set of one manager)."""


def split_experiments(
    experiments: list[QuantumCircuit], backend_max: int | None, user_max: int | None
) -> list[list[QuantumCircuit]]:
    """Cut ``experiments`` into consecutive chunks of ``min(backend_max, user_max)``.

    Args:
        experiments: the circuits, in order.
        backend_max: the backend's ``max_experiments`` (``None``: no limit).
        user_max: ``max_experiments_per_job`` (``None``: the backend's).

    Returns:
        The chunks.
    """
    limits = [value for value in (backend_max, user_max) if value]
    size = min(limits) if limits else len(experiments)
    return [experiments[i : i + size] for i in range(0, len(experiments), size)]


class JobManager:
    """Splits circuits into jobs, submits them and gathers their results.

    Args:
        progress: show a progress bar while ``ManagedJobSet.results`` waits (only when
            stderr is a terminal).
        max_workers: threads that submit jobs concurrently.
    """

    def __init__(self, progress: bool = True, max_workers: int = DEFAULT_MAX_WORKERS) -> None:
        self._job_sets: list[ManagedJobSet] = []
        self._progress = progress
        self._executor = ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="openqx-job-manager"
        )

    def __repr__(self) -> str:
        return f"<JobManager job_sets={len(self._job_sets)}>"

    def close(self) -> None:
        """Wait for pending submissions and release the threads."""
        self._executor.shutdown(wait=True)

    def __enter__(self) -> JobManager:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def run(
        self,
        experiments: QuantumCircuit | list[QuantumCircuit],
        backend: OpenQXBackend,
        name: str | None = None,
        max_experiments_per_job: int | None = None,
        job_share_level: str | None = None,
        job_tags: list[str] | None = None,
        **run_config: Any,
    ) -> ManagedJobSet:
        """Split circuits into jobs and submit them in the background.

        Job ``i`` is named ``<name>_<i>_`` and every job carries the tag
        ``openqx_jobset_<set id>_`` so that the set can be retrieved later.

        Args:
            experiments: one circuit or a list of circuits (already transpiled for the
                backend).
            backend: an openqx backend.
            name: the set name (default: the current UTC time).
            max_experiments_per_job: at most this many circuits per job (capped by the
                backend's ``max_experiments``).
            job_share_level: share level of the jobs.
            job_tags: tags for every job.
            **run_config: run options passed to ``backend.run`` (``shots``, ``memory``...).

        Returns:
            The job set (submission goes on in the background).

        Raises:
            OpenQXJobManagerInvalidStateError: an argument is not valid.
        """
        circuits = _circuit_list(experiments)
        if not isinstance(backend, OpenQXBackend):
            raise exc.OpenQXJobManagerInvalidStateError(
                f"The job manager only supports openqx backends (OpenQXBackend), not "
                f"{type(backend).__name__}."
            )
        if max_experiments_per_job is not None and (
            isinstance(max_experiments_per_job, bool)
            or not isinstance(max_experiments_per_job, int)
            or max_experiments_per_job < 1
        ):
            raise exc.OpenQXJobManagerInvalidStateError(
                f"max_experiments_per_job needs to be a positive integer, not "
                f"{max_experiments_per_job!r}."
            )
        if name is not None and (not isinstance(name, str) or not name):
            raise exc.OpenQXJobManagerInvalidStateError(
                f"The job set name needs to be a non-empty string, not {name!r}."
            )
        try:
            run_options.validate_job_tags(job_tags)
            check_user_tags(job_tags)
            run_options.validate_share_level(job_share_level)
        except ValueError as error:
            raise exc.OpenQXJobManagerInvalidStateError(str(error)) from error
        if job_tags and len(job_tags) + 1 > run_options.MAX_TAGS:
            raise exc.OpenQXJobManagerInvalidStateError(
                f"At most {run_options.MAX_TAGS - 1} job tags fit next to the job-set tag."
            )
        chunks = split_experiments(circuits, backend.max_circuits, max_experiments_per_job)
        job_set = ManagedJobSet(name=name, progress=self._progress)
        job_set.run(
            chunks,
            backend,
            self._executor,
            job_share_level=job_share_level,
            job_tags=job_tags,
            **run_config,
        )
        self._job_sets.append(job_set)
        return job_set

    def report(self, detailed: bool = True) -> str:
        """Return a text report over every job set of this manager.

        Args:
            detailed: add each set's report.

        Returns:
            The report.
        """
        lines = ["Summary report:", f"  Total job sets: {len(self._job_sets)}"]
        if detailed:
            for job_set in self._job_sets:
                lines.append("")
                lines.append(job_set.report(detailed=True))
        return "\n".join(lines)

    def job_sets(self, name: str | None = None) -> list[ManagedJobSet]:
        """Return the job sets of this session, optionally only those called ``name``.

        Args:
            name: the set name.

        Returns:
            The job sets.
        """
        return [s for s in self._job_sets if name is None or s.name() == name]

    def retrieve_job_set(
        self, job_set_id: str, provider: AccountProvider, refresh: bool = False
    ) -> ManagedJobSet:
        """Return a job set by id, from this session or rebuilt from the server.

        Args:
            job_set_id: ``ManagedJobSet.job_set_id()``.
            provider: the provider whose account submitted the jobs.
            refresh: rebuild the set from the server even if this session knows it.

        Returns:
            The job set.

        Raises:
            OpenQXJobManagerUnknownJobSet: no job carries the set's tag.
            OpenQXJobManagerInvalidStateError: the jobs found do not form a consistent set.
        """
        if not job_set_id:  # would otherwise stand for "a new set" and name a random id
            raise exc.OpenQXJobManagerUnknownJobSet(
                f"{job_set_id!r} is not a job set id: it is empty."
            )
        for job_set in self._job_sets:
            if job_set.job_set_id() == job_set_id:
                if not refresh:
                    return job_set
                self._job_sets.remove(job_set)
                break
        job_set = ManagedJobSet(short_id=job_set_id, progress=self._progress)
        job_set.retrieve_jobs(provider)
        self._job_sets.append(job_set)
        return job_set


def _circuit_list(experiments: Any) -> list[QuantumCircuit]:
    """One circuit or a list of circuits as a list; anything else is an error."""
    if isinstance(experiments, QuantumCircuit):
        return [experiments]
    if not isinstance(experiments, list | tuple):
        raise exc.OpenQXJobManagerInvalidStateError(
            f"experiments needs to be a QuantumCircuit or a list of them, not "
            f"{type(experiments).__name__}."
        )
    if not experiments:
        raise exc.OpenQXJobManagerInvalidStateError("No experiments to run: the list is empty.")
    for position, item in enumerate(experiments):
        if not isinstance(item, QuantumCircuit):
            raise exc.OpenQXJobManagerInvalidStateError(
                f"Experiment {position} is a {type(item).__name__}: only QuantumCircuit "
                f"objects can be run (pulse schedules are not supported)."
            )
    return list(experiments)
