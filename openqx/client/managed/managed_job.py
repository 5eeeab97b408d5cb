"""``ManagedJob``: one job of a job set, its experiment range and its submission loop.

Submission paces itself on the backend's job limit: when the server answers
``job_limit_reached`` the loop waits for the oldest active job of that backend to finish
(at most ``LIMIT_WAIT_SECONDS``), then tries again. Any other submission error is kept in
``submit_error`` so that the rest of the set goes on.
"""

from __future__ import annotations

import logging
import time
import warnings
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from qiskit.providers import JobStatus as QiskitJobStatus
from qiskit.result import Result

from openqx.client import exceptions as exc
from openqx.core.status import ACTIVE_STATUSES

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

    from openqx.client.backend import OpenQXBackend
    from openqx.client.job import OpenQXJob

__all__ = ["LIMIT_WAIT_SECONDS", "ManagedJob", "experiment_name"]

logger = logging.getLogger("openqx.client.managed")

LIMIT_WAIT_SECONDS = 300.0
"""Longest wait for the oldest active job when the job limit is reached, in seconds."""
LIMIT_RETRY_PAUSE_SECONDS = 1.0
"""Pause before retrying when the limit is reached but no active job is visible, in seconds."""


def experiment_name(experiment: Any) -> str | None:
    """Return the name of a circuit or a result's experiment header, or ``None``."""
    header = getattr(experiment, "header", None)
    if header is not None and not hasattr(experiment, "num_qubits"):
        name = header.get("name") if isinstance(header, dict) else getattr(header, "name", None)
        return name if isinstance(name, str) else None
    name = getattr(experiment, "name", None)
    return name if isinstance(name, str) else None


class ManagedJob:
    """A job of a ``ManagedJobSet`` covering experiments ``start_index..end_index``.

    Args:
        start_index: global index of the job's first experiment.
        experiments_count: how many experiments the job holds.
        index: the job's index within the set (the ``<index>`` of ``<set name>_<index>_``).
        experiment_names: experiment names when known (kept at submit time).
        job: the job, when it already exists (retrieved sets).
    """

    def __init__(
        self,
        start_index: int,
        experiments_count: int,
        index: int,
        experiment_names: list[str] | None = None,
        job: OpenQXJob | None = None,
    ) -> None:
        self.start_index = start_index
        self.end_index = start_index + experiments_count - 1
        self.index = index
        self.job: OpenQXJob | None = job
        self.future: Future[None] | None = None
        self.submit_error: BaseException | None = None
        self._names = experiment_names

    def __repr__(self) -> str:
        job_id = self.job.job_id() if self.job is not None else None
        return (
            f"<ManagedJob {self.index} experiments {self.start_index}-{self.end_index} "
            f"job={job_id!r}>"
        )

    @property
    def experiments_count(self) -> int:
        """How many experiments the job holds."""
        return self.end_index - self.start_index + 1

    def is_submitting(self) -> bool:
        """Whether the submission is still under way."""
        return self.future is not None and not self.future.done()

    # --- submission -------------------------------------------------------------------

    def submit_blocking(
        self,
        circuits: list[QuantumCircuit],
        backend: OpenQXBackend,
        job_name: str,
        job_tags: list[str],
        job_share_level: str | None,
        run_config: dict[str, Any],
    ) -> None:
        """Submit the job, waiting on the job limit as needed (runs in a worker thread)."""
        while self.job is None:
            try:
                self.job = backend.run(
                    circuits,
                    job_name=job_name,
                    job_tags=job_tags,
                    job_share_level=job_share_level,
                    **run_config,
                )
            except exc.OpenQXBackendJobLimitError:
                self._wait_for_capacity(backend)
            except Exception as error:  # kept for the user; the set goes on
                self.submit_failed(error)
                return

    def submit_failed(self, error: BaseException) -> None:
        """Keep why the job could not be submitted (the rest of the set goes on)."""
        self.submit_error = error
        logger.warning(
            "Unable to submit job for experiments %d-%d: %s",
            self.start_index,
            self.end_index,
            error,
            extra={"action": "submit_managed_job", "job_index": self.index},
        )

    def _wait_for_capacity(self, backend: OpenQXBackend) -> None:
        """Wait for the oldest active job of ``backend`` to finish."""
        statuses = sorted(status.name for status in ACTIVE_STATUSES)
        try:
            oldest = backend.jobs(limit=1, status=statuses, descending=False)
        except exc.OpenQXError as error:
            logger.warning("Job limit reached; could not list active jobs: %s", error)
            oldest = []
        if not oldest:
            logger.warning(
                "Job limit reached on backend %s, but no active job is visible; retrying.",
                backend.name,
                extra={"action": "wait_job_limit", "job_index": self.index},
            )
            time.sleep(LIMIT_RETRY_PAUSE_SECONDS)
            return
        old = oldest[0]
        logger.warning(
            "Job limit reached on backend %s, waiting for job %s to finish before "
            "submitting the next one.",
            backend.name,
            old.job_id(),
            extra={"action": "wait_job_limit", "job_id": old.job_id(), "job_index": self.index},
        )
        try:
            old.wait_for_final_state(timeout=LIMIT_WAIT_SECONDS)
        except Exception as error:  # a failed wait must not stop submission
            logger.info("Waiting for job %s ended with %s; retrying.", old.job_id(), error)

    # --- names ------------------------------------------------------------------------

    def known_names(self) -> list[str] | None:
        """Experiment names known without a request (submit time or a cached result)."""
        if self._names is not None:
            return self._names
        result = getattr(self.job, "_result", None) if self.job is not None else None
        if isinstance(result, Result):
            self._names = [experiment_name(exp) or "" for exp in result.results]
        return self._names

    def experiment_names(self) -> list[str]:
        """Experiment names, downloading the job's circuits when nothing else knows them."""
        names = self.known_names()
        if names is None:
            if self.job is None:
                return []
            self._names = names = [circuit.name for circuit in self.job.circuits()]
        return names

    # --- job operations ---------------------------------------------------------------

    def status(self) -> QiskitJobStatus | None:
        """Return the job status, ``INITIALIZING`` while submitting, ``None`` if not submitted."""
        if self.is_submitting():
            return QiskitJobStatus.INITIALIZING
        if self.job is None:
            return None
        try:
            return self.job.status()
        except exc.OpenQXError as error:
            warnings.warn(
                f"Unable to retrieve job status for job {self.job.job_id()}: {error}",
                UserWarning,
                stacklevel=3,
            )
            return None

    def result(
        self, timeout: float | None = None, partial: bool = False, refresh: bool = False
    ) -> Result | None:
        """Return the job result, or ``None`` (with a warning) when there is none.

        Raises:
            OpenQXJobTimeoutError: the job did not finish within ``timeout``.
        """
        if self.job is None:
            warnings.warn(
                f"Unable to retrieve results for experiments {self.start_index}-"
                f"{self.end_index}: the job was not submitted ({self.submit_error}).",
                UserWarning,
                stacklevel=3,
            )
            return None
        try:
            return self.job.result(timeout=timeout, partial=partial, refresh=refresh)
        except exc.OpenQXJobTimeoutError:
            raise
        except exc.OpenQXError as error:
            warnings.warn(
                f"Unable to retrieve results for experiments {self.start_index}-"
                f"{self.end_index} (job {self.job.job_id()}): {error}",
                UserWarning,
                stacklevel=3,
            )
            return None

    def error_message(self) -> str | None:
        """Return why the job failed (or why it was not submitted), else ``None``."""
        if self.job is None:
            return f"Job submit failed: {self.submit_error}" if self.submit_error else None
        try:
            return self.job.error_message()
        except exc.OpenQXError:
            return "Unknown error."

    def cancel(self) -> bool:
        """Cancel the job; ``False`` when there is no job or it could not be cancelled."""
        if self.job is None:
            return False
        try:
            cancelled = self.job.cancel()
        except exc.OpenQXError as error:
            logger.warning("Unable to cancel job %s: %s", self.job.job_id(), error)
            return False
        if not cancelled:
            logger.warning(
                "Unable to cancel job %s for experiments %d-%d.",
                self.job.job_id(),
                self.start_index,
                self.end_index,
            )
        return cancelled
