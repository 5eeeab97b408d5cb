"""``ManagedJobSet``: the jobs one ``JobManager.run`` call split a list of circuits into.

Identity: the set id is ``<uuid4 hex>-<unix time in ns>``; every job carries the tag
``openqx_jobset_<set id>_`` and the name ``<set name>_<job index>_``, so that
``JobManager.retrieve_job_set`` can rebuild the set from one ``GET /v1/job_sets/{id}``.

Finding the job of an experiment *by name* never downloads every job's circuits: names are
kept at submit time; for a retrieved set they come from the downloaded results when
``results()`` has run, and otherwise the circuits of one job after the other are downloaded
only until the name is found (then cached).
"""

from __future__ import annotations

import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus as QiskitJobStatus
from qiskit.result import Result

from openqx.client import exceptions as exc
from openqx.client.job import OpenQXJob
from openqx.client.managed.managed_job import ManagedJob, logger
from openqx.client.managed.results import ManagedResults
from openqx.core import bounds, wire
from openqx.core.job_sets import check_user_tags, job_set_tag

if TYPE_CHECKING:
    from openqx.client.backend import OpenQXBackend
    from openqx.client.provider import AccountProvider

__all__ = ["JOB_NAME_PATTERN", "ManagedJobSet", "job_set_tag", "new_job_set_id"]

JOB_NAME_PATTERN = re.compile(r"(.*)_([0-9]+)_$")
"""``<set name>_<job index>_``."""
SUBMIT_BATCH_JOBS = 100
"""Jobs per ``POST /jobs/batch`` when a set is submitted (each batch on its own thread)."""
WAIT_REQUEST_SECONDS = 10.0
"""Longest wait of one ``POST /jobs/wait`` while ``results()`` waits for the set."""


def _refused(error: exc.OpenQXError) -> bool:
    """Whether the server answered a request with a refusal (a 4xx: nothing was stored)."""
    status = getattr(error, "status_code", None)
    return isinstance(status, int) and 400 <= status < 500


def new_job_set_id() -> str:
    """Return a new job set id: ``<uuid4 hex>-<unix time in ns>``."""
    return f"{uuid.uuid4().hex}-{time.time_ns()}"


class ManagedJobSet:
    """A set of jobs created by ``JobManager.run`` or found by ``retrieve_job_set``.

    Args:
        name: the set name (default: the current UTC time in ISO format).
        short_id: the set id of an existing set (default: a new id).
        progress: show a progress bar while ``results()`` waits (only on a terminal).
    """

    def __init__(
        self, name: str | None = None, short_id: str | None = None, progress: bool = True
    ) -> None:
        self._name = name if name is not None else datetime.now(UTC).isoformat()
        self._id = short_id or new_job_set_id()
        self._id_tag = job_set_tag(self._id)
        self._progress = progress
        self._managed_jobs: list[ManagedJob] = []
        self._tags: list[str] = []
        self._backend: OpenQXBackend | None = None
        self._results: ManagedResults | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<ManagedJobSet {self._name!r} id={self._id!r} jobs={len(self._managed_jobs)}>"

    # --- identity ---------------------------------------------------------------------

    def name(self) -> str:
        """Return the set name."""
        return self._name

    def job_set_id(self) -> str:
        """Return the set id (``JobManager.retrieve_job_set`` takes it)."""
        return self._id

    def tags(self) -> list[str]:
        """Return the user tags of the jobs (without the job-set tag)."""
        return list(self._tags)

    def managed_jobs(self) -> list[ManagedJob]:
        """Return the managed jobs, in experiment order."""
        return list(self._managed_jobs)

    @property
    def backend(self) -> OpenQXBackend | None:
        """The backend the jobs run on."""
        return self._backend

    # --- submission -------------------------------------------------------------------

    def run(
        self,
        chunks: Sequence[Sequence[QuantumCircuit]],
        backend: OpenQXBackend,
        executor: ThreadPoolExecutor,
        job_share_level: str | None = None,
        job_tags: list[str] | None = None,
        **run_config: Any,
    ) -> None:
        """Submit one job per chunk in the background.

        Args:
            chunks: the experiments of each job, in order.
            backend: the backend.
            executor: the thread pool the submissions run on.
            job_share_level: the share level of the jobs.
            job_tags: user tags for every job.
            **run_config: run options for ``backend.run``.

        Raises:
            OpenQXJobManagerInvalidStateError: the set was already submitted.
        """
        with self._lock:
            if self._managed_jobs:
                raise exc.OpenQXJobManagerInvalidStateError(
                    "The jobs for this managed job set have already been submitted."
                )
            self._backend = backend
            self._tags = list(job_tags or [])
            tags = self._tags + [self._id_tag]
            start = 0
            for index, chunk in enumerate(chunks):
                self._managed_jobs.append(
                    ManagedJob(start, len(chunk), index, experiment_names=[c.name for c in chunk])
                )
                start += len(chunk)
            for first in range(0, len(chunks), SUBMIT_BATCH_JOBS):
                group = list(
                    zip(
                        self._managed_jobs[first : first + SUBMIT_BATCH_JOBS],
                        chunks[first : first + SUBMIT_BATCH_JOBS],
                        strict=True,
                    )
                )
                future = executor.submit(
                    self._submit_group, group, backend, tags, job_share_level, dict(run_config)
                )
                for managed, _ in group:
                    managed.future = future

    def _submit_group(
        self,
        group: list[tuple[ManagedJob, Sequence[QuantumCircuit]]],
        backend: OpenQXBackend,
        tags: list[str],
        job_share_level: str | None,
        run_config: dict[str, Any],
    ) -> None:
        """Submit jobs in one ``POST /jobs/batch`` (runs in a worker thread). When the server
        refuses the batch (a job limit the batch would pass, or one job it does not accept:
        then nothing was stored), each job is submitted alone instead, pacing on the job
        limit and keeping its own error, as without batches."""
        ready: list[tuple[ManagedJob, Sequence[QuantumCircuit]]] = []
        submissions: list[wire.JobSubmission] = []
        for managed, chunk in group:
            options = dict(run_config)
            try:
                submissions.append(
                    backend._submission(
                        list(chunk),
                        job_name=self._job_name(managed),
                        job_tags=tags,
                        job_share_level=job_share_level,
                        experiment_id=options.pop("experiment_id", None),
                        header=options.pop("header", None),
                        parameter_binds=options.pop("parameter_binds", None),
                        run_config=options,
                    )
                )
            except Exception as error:  # kept for the user; the set goes on
                managed.submit_failed(error)
                continue
            ready.append((managed, chunk))
        if len(ready) > 1:
            try:
                infos = backend._api.submit_jobs(submissions)
            except exc.OpenQXError as error:
                if not _refused(error):
                    for managed, _ in ready:
                        managed.submit_failed(error)
                    return
                logger.info("Job batch refused (%s); submitting its jobs one by one.", error)
            else:
                for (managed, _), info in zip(ready, infos, strict=True):
                    managed.job = OpenQXJob(backend, backend._api, info)
                return
        for managed, chunk in ready:
            managed.submit_blocking(
                list(chunk), backend, self._job_name(managed), tags, job_share_level, run_config
            )

    def _job_name(self, managed: ManagedJob) -> str:
        return f"{self._name}_{managed.index}_"

    def retrieve_jobs(self, provider: AccountProvider, refresh: bool = False) -> None:
        """Rebuild the set from the server with one ``GET /v1/job_sets/{id}``.

        Args:
            provider: the provider whose account submitted the jobs.
            refresh: fetch again even if the jobs are known.

        Raises:
            OpenQXJobManagerUnknownJobSet: no job carries the set's tag.
            OpenQXJobManagerInvalidStateError: the jobs found do not form a consistent set.
        """
        if self._managed_jobs and not refresh:
            return
        try:
            infos = provider.api_client.job_set(self._id)
        except exc.OpenQXJobManagerUnknownJobSet as error:
            raise exc.OpenQXJobManagerUnknownJobSet(
                f"{self._id} is not a known job set within the provider {provider}."
            ) from error
        if not infos:
            raise exc.OpenQXJobManagerUnknownJobSet(
                f"{self._id} is not a known job set within the provider {provider}."
            )
        first = infos[0]
        set_name, backend_name = self._name_match(first).group(1), first.backend
        by_index: dict[int, OpenQXJob] = {}
        for info in infos:
            match = self._name_match(info)
            if match.group(1) != set_name or info.backend != backend_name:
                raise exc.OpenQXJobManagerInvalidStateError(
                    f"Job {info.id} is tagged for the job set {self._id} but does not appear "
                    f"to belong to the set (name {info.name!r} on {info.backend}, expected "
                    f"{set_name!r}_<index>_ on {backend_name})."
                )
            index = int(match.group(2))
            if index in by_index:
                raise exc.OpenQXJobManagerInvalidStateError(
                    f"Jobs {by_index[index].job_id()} and {info.id} both claim index {index} "
                    f"in job set {self._id}."
                )
            backend = provider.backend_by_name(info.backend)
            by_index[index] = OpenQXJob(backend, provider.api_client, info)
        if sorted(by_index) != list(range(len(by_index))):
            missing = sorted(set(range(max(by_index) + 1)) - set(by_index))
            raise exc.OpenQXJobManagerInvalidStateError(
                f"Unable to retrieve all jobs for job set {self._id}: job indexes {missing} "
                f"are missing."
            )
        managed_jobs = []
        start = 0
        for index in range(len(by_index)):
            job = by_index[index]
            count = job.info.num_circuits or len(job.circuits())
            managed_jobs.append(ManagedJob(start, count, index, job=job))
            start += count
        with self._lock:
            self._name = set_name
            self._backend = provider.backend_by_name(backend_name)
            self._tags = [tag for tag in first.tags if tag != self._id_tag]
            self._managed_jobs = managed_jobs
            self._results = None

    def _name_match(self, info: wire.JobInfo) -> re.Match[str]:
        """Match a job of this set against ``JOB_NAME_PATTERN``.

        Raises:
            OpenQXJobManagerInvalidStateError: the job's name does not follow the pattern.
        """
        match = JOB_NAME_PATTERN.fullmatch(info.name or "")
        if match is None:
            raise exc.OpenQXJobManagerInvalidStateError(
                f"Job {info.id} is tagged for the job set {self._id} but does not have a "
                f"proper job name."
            )
        return match

    # --- waiting ----------------------------------------------------------------------

    def _wait_submitted(self, timeout: float | None = None) -> None:
        """Block until every submission is done."""
        futures = [m.future for m in self._managed_jobs if m.future is not None]
        _, pending = wait(futures, timeout=timeout)
        if pending:
            raise exc.OpenQXJobManagerTimeoutError(
                f"Timeout while waiting for the jobs of job set {self._id} to be submitted."
            )

    # --- state ------------------------------------------------------------------------

    def statuses(self) -> list[QiskitJobStatus | None]:
        """Return each job's status: ``INITIALIZING`` while submitting, ``None`` if not submitted.

        Returns:
            One status per managed job.
        """
        return [managed.status() for managed in self._managed_jobs]

    def report(self, detailed: bool = True) -> str:
        """Return a text report of the set.

        Args:
            detailed: add a section per job.

        Returns:
            The report.
        """
        statuses = self.statuses()
        counts = {status: statuses.count(status) for status in set(statuses)}
        pending = sum(
            counts.get(s, 0)
            for s in (
                QiskitJobStatus.INITIALIZING,
                QiskitJobStatus.VALIDATING,
                QiskitJobStatus.QUEUED,
            )
        )
        lines = [
            f"Job set name: {self._name}",
            f"          ID: {self._id}",
            f"        tags: {self._tags}",
            "Summary report:",
            f"       Total jobs: {len(statuses)}",
            f"  Successful jobs: {counts.get(QiskitJobStatus.DONE, 0)}",
            f"      Failed jobs: {counts.get(QiskitJobStatus.ERROR, 0)}",
            f"   Cancelled jobs: {counts.get(QiskitJobStatus.CANCELLED, 0)}",
            f"     Running jobs: {counts.get(QiskitJobStatus.RUNNING, 0)}",
            f"     Pending jobs: {pending}",
            f"  Not submitted:   {counts.get(None, 0)}",
        ]
        if detailed:
            lines.append("\nDetail report:")
            for managed, status in zip(self._managed_jobs, statuses, strict=True):
                lines.append(f"  experiments: {managed.start_index}-{managed.end_index}")
                lines.append(f"    job index: {managed.index}")
                if managed.submit_error is not None:
                    lines.append(f"    job submit failed: {managed.submit_error}")
                    continue
                if managed.job is None:
                    lines.append(f"    status: {QiskitJobStatus.INITIALIZING.name}")
                    continue
                lines.append(f"    job ID: {managed.job.job_id()}")
                lines.append(f"    name: {managed.job.name()}")
                lines.append(f"    status: {status.name if status else 'unknown'}")
                if status is QiskitJobStatus.QUEUED:
                    lines.append(f"    queue position: {managed.job.queue_position()}")
                elif status is QiskitJobStatus.ERROR:
                    message = managed.error_message() or ""
                    lines.append("    error_message=")
                    lines.extend(f"      {line}" for line in message.splitlines())
        return "\n".join(lines)

    def results(
        self,
        timeout: float | None = None,
        partial: bool = False,
        refresh: bool = False,
        progress: bool | None = None,
    ) -> ManagedResults:
        """Wait for every job and return their results.

        A job that failed, was cancelled or was never submitted gives a warning, not an
        error: ``success`` of the answer is then ``False`` and lookups into that job raise
        ``OpenQXManagedResultDataNotAvailable``.

        Args:
            timeout: seconds to wait in all; ``None`` waits for ever.
            partial: for failed jobs, keep the results of the experiments that ran.
            refresh: download the results again.
            progress: show a progress bar (default: the set's setting; never when stderr is
                not a terminal).

        Returns:
            The results of the set.

        Raises:
            OpenQXJobManagerTimeoutError: the jobs did not finish within ``timeout``.
        """
        if self._results is not None and not refresh:
            return self._results
        deadline = None if timeout is None else time.monotonic() + timeout
        self._wait_submitted(timeout)
        show = self._progress if progress is None else progress
        bar = _progress_bar(sum(m.experiments_count for m in self._managed_jobs), show)
        job_results: list[Result | None] = []
        try:
            counted = self._wait_final(deadline, bar)
            for managed in self._managed_jobs:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise self._timeout(managed)
                try:
                    job_results.append(managed.result(remaining, partial, refresh))
                except exc.OpenQXJobTimeoutError as error:
                    raise self._timeout(managed) from error
                if managed.index not in counted:
                    bar.update(managed.experiments_count)
        finally:
            bar.close()
        success = all(r is not None and r.success for r in job_results)
        backend_name = self._backend.name if self._backend is not None else ""
        self._results = ManagedResults(self, backend_name, success, job_results)
        return self._results

    def _wait_final(self, deadline: float | None, bar: Any) -> set[int]:
        """Wait for the set's jobs with ``POST /jobs/wait`` (its most ids per request),
        keeping each final record and small result on its job, so that the jobs' results
        need no further request; returns the indexes of the jobs counted on ``bar``. Stops
        at ``deadline`` or when the server cannot be asked (the jobs then wait one by one)."""
        pending = {
            managed.job.job_id(): managed
            for managed in self._managed_jobs
            if managed.job is not None and not managed.job.info.status.is_final
        }
        counted: set[int] = set()
        while pending:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            wait = (
                WAIT_REQUEST_SECONDS if remaining is None else min(remaining, WAIT_REQUEST_SECONDS)
            )
            first = next(iter(pending.values()))
            assert first.job is not None
            try:
                finals = first.job._api.wait_jobs(list(pending)[: bounds.MAX_LIST_ITEMS], wait)
            except exc.OpenQXError as error:
                logger.info("Waiting for the jobs together failed (%s); one by one.", error)
                break
            for final in finals:
                managed = pending.pop(final.job.id, None)
                if managed is not None and managed.job is not None:
                    managed.job.take_final(final)
                    counted.add(managed.index)
                    bar.update(managed.experiments_count)
        return counted

    def _timeout(self, managed: ManagedJob) -> exc.OpenQXJobManagerTimeoutError:
        last = self._managed_jobs[-1].end_index
        return exc.OpenQXJobManagerTimeoutError(
            f"Timeout while waiting for the results for experiments {managed.start_index}-{last}."
        )

    def error_messages(self) -> str | None:
        """Return why jobs failed (waits for them), or ``None`` if none did.

        Returns:
            One block per failed job, or ``None``.
        """
        self._wait_submitted()
        blocks = []
        for managed in self._managed_jobs:
            message = managed.error_message()
            if message is None:
                continue
            job_id = managed.job.job_id() if managed.job is not None else None
            blocks.append(
                f"Experiments {managed.start_index}-{managed.end_index}, job index="
                f"{managed.index}, job ID={job_id}:"
            )
            blocks.extend(f"  {line}" for line in message.splitlines())
        return "\n".join(blocks) if blocks else None

    def cancel(self) -> list[bool]:
        """Cancel every job (jobs whose submission failed are skipped).

        Returns:
            Whether each job was cancelled.
        """
        self._wait_submitted()
        return [managed.cancel() for managed in self._managed_jobs]

    def jobs(self) -> list[OpenQXJob | None]:
        """Return the jobs (``None`` where submission failed), waiting for submission."""
        self._wait_submitted()
        return [managed.job for managed in self._managed_jobs]

    def job(self, experiment: int | str | QuantumCircuit) -> tuple[OpenQXJob | None, int]:
        """Return the job holding an experiment and the experiment's index in it.

        Args:
            experiment: a global index, an experiment name or a circuit (its name).

        Returns:
            ``(job, index within the job)``; ``job`` is ``None`` when its submission failed.

        Raises:
            OpenQXJobManagerJobNotFound: no experiment has this index or name.
        """
        managed, index = self.locate(experiment)
        return managed.job, index

    def locate(self, experiment: int | str | QuantumCircuit) -> tuple[ManagedJob, int]:
        """Like ``job()`` but return the ``ManagedJob``."""
        self._wait_submitted()
        if isinstance(experiment, bool) or not isinstance(experiment, int | str | QuantumCircuit):
            raise exc.OpenQXJobManagerJobNotFound(
                f"Unable to find the job for experiment {experiment!r}: an experiment is "
                f"an index, a name or a circuit."
            )
        if isinstance(experiment, int):
            for managed in self._managed_jobs:
                if managed.start_index <= experiment <= managed.end_index:
                    return managed, experiment - managed.start_index
            raise exc.OpenQXJobManagerJobNotFound(
                f"Unable to find the job for experiment {experiment}: the set holds "
                f"{self._count()} experiments."
            )
        name = experiment if isinstance(experiment, str) else experiment.name
        # Cheap first: names kept at submit time or read from downloaded results.
        for managed in self._managed_jobs:
            names = managed.known_names()
            if names is not None and name in names:
                return managed, names.index(name)
        for managed in self._managed_jobs:
            if managed.known_names() is None and managed.job is not None:
                names = managed.experiment_names()
                if name in names:
                    return managed, names.index(name)
        raise exc.OpenQXJobManagerJobNotFound(f"Unable to find the job for experiment {name!r}.")

    def _count(self) -> int:
        return self._managed_jobs[-1].end_index + 1 if self._managed_jobs else 0

    # --- changes ----------------------------------------------------------------------

    def update_name(self, name: str) -> str:
        """Rename the set and every job (``<name>_<index>_``).

        Args:
            name: the new set name.

        Returns:
            The new name.

        Raises:
            OpenQXJobManagerInvalidStateError: ``name`` is not a string.
        """
        if not isinstance(name, str) or not name:
            raise exc.OpenQXJobManagerInvalidStateError(
                f"{name!r} is not a valid job set name: it needs to be a non-empty string."
            )
        self._wait_submitted()
        for managed in self._managed_jobs:
            if managed.job is None:
                continue
            try:
                managed.job.update_name(f"{name}_{managed.index}_")
            except exc.OpenQXError as error:
                logger.warning("Unable to rename job %s: %s", managed.job.job_id(), error)
        self._name = name
        return name

    def update_tags(
        self,
        replacement_tags: list[str] | None = None,
        additional_tags: list[str] | None = None,
        removal_tags: list[str] | None = None,
    ) -> list[str]:
        """Change the tags of every job; the job-set tag is never removed or replaced.

        Args:
            replacement_tags: the new tag list.
            additional_tags: tags to add.
            removal_tags: tags to remove.

        Returns:
            The new user tags (without the job-set tag).

        Raises:
            OpenQXJobManagerInvalidStateError: no argument given or tags not valid.
        """
        if replacement_tags is None and additional_tags is None and removal_tags is None:
            raise exc.OpenQXJobManagerInvalidStateError(
                "The tags cannot be updated since none of the parameters are specified."
            )
        try:
            check_user_tags([*(replacement_tags or []), *(additional_tags or [])])
        except ValueError as error:
            raise exc.OpenQXJobManagerInvalidStateError(str(error)) from error
        updated: list[str] | None = None
        for job in self.jobs():
            if job is None:
                continue
            try:
                updated = job.update_tags(replacement_tags, additional_tags, removal_tags)
            except exc.OpenQXJobInvalidStateError as error:
                raise exc.OpenQXJobManagerInvalidStateError(str(error)) from error
            except exc.OpenQXError as error:
                logger.warning("Unable to update the tags of job %s: %s", job.job_id(), error)
        if updated is not None:
            self._tags = [tag for tag in updated if tag != self._id_tag]
        return list(self._tags)


def _progress_bar(total: int, wanted: bool) -> Any:
    """A tqdm bar when wanted and stderr is a terminal, else a do-nothing stand-in."""
    if wanted and sys.stderr.isatty():
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover - tqdm is a dependency
            return _NoBar()
        return tqdm(total=total, unit="exp", desc="job set results", leave=False)
    return _NoBar()


class _NoBar:
    """Stand-in for a disabled progress bar."""

    update: Callable[[int], None] = staticmethod(lambda n: None)
    close: Callable[[], None] = staticmethod(lambda: None)
