"""``OpenQXJob``: a qiskit ``JobV1`` over one job record of the server.

A job object holds only its ``JobInfo`` (no circuits, no result) so that a client can keep
thousands of them; circuits and the result are fetched on first use and cached.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus as QiskitJobStatus
from qiskit.providers import JobV1
from qiskit.result import Result

from openqx.client import exceptions as exc
from openqx.client import status_feed
from openqx.client.queue_info import QueueInfo
from openqx.core import circuit_payload, results, run_options, wire
from openqx.core.job_sets import JOB_SET_TAG_PREFIX
from openqx.core.status import JobStatus
from openqx.core.times import local_from_stored

if TYPE_CHECKING:
    from qiskit_ibm_runtime.models import BackendProperties

    from openqx.client.http import ApiClient, StreamItem

__all__ = [
    "JOB_SET_TAG_PREFIX",
    "OpenQXJob",
    "StatusCallback",
    "to_qiskit_status",
]

StatusCallback = Callable[..., None]
"""``callback(job_id, status, job, queue_info=...)``."""


def to_qiskit_status(status: JobStatus) -> QiskitJobStatus:
    """Map an openqx status to ``qiskit.providers.JobStatus`` (same names)."""
    return QiskitJobStatus[status.name]


class OpenQXJob(JobV1):  # type: ignore[misc]
    """A job submitted to an openqx backend.

    Do not build it directly: ``backend.run()``, ``backend.jobs()`` and ``retrieve_job()``
    return jobs.

    Args:
        backend: the backend the job runs on (``None`` when it no longer exists).
        api_client: the API client.
        info: the job record.
    """

    POLL_INTERVAL = status_feed.POLL_INTERVAL
    """Seconds between status requests when the event stream is unavailable."""

    def __init__(self, backend: Any, api_client: ApiClient, info: wire.JobInfo) -> None:
        super().__init__(backend, info.id)
        self._api = api_client
        self._info = info
        self._result: Result | None = None
        self._result_data: dict[str, Any] | None = None
        """The result JSON the status stream carried with the final record, until used."""
        self._circuits: list[QuantumCircuit] | None = None
        self._feed: status_feed.StatusFeed | None = None
        """The job's status stream as its submission opened it, followed in the background
        until the job is waited for (``follow``)."""

    def follow(self, opened: Iterator[StreamItem]) -> None:
        """Follow the job's status stream as its submission opened it
        (``ApiClient.submit_watched``) in a background thread, so that waiting for the job
        needs no request of its own: ``result()`` and ``wait_for_final_state()`` take the
        statuses it has gathered."""
        self._feed = status_feed.StatusFeed(self._api, self._job_id, opened=opened).start()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_feed"] = None  # a thread of this process
        return state

    # --- identity ---------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"<OpenQXJob('{self._job_id}') on {self._info.backend!r} {self._info.status.name}>"

    @property
    def info(self) -> wire.JobInfo:
        """The cached job record."""
        return self._info

    def name(self) -> str | None:
        """Return the job name."""
        return self._info.name

    def tags(self) -> list[str]:
        """Return a copy of the job tags."""
        return list(self._info.tags)

    def share_level(self) -> str:
        """Return the job share level (``global``, ``hub``, ``group``, ``project``, ``none``)."""
        return self._info.share_level

    def creation_date(self) -> datetime:
        """Return the creation time as an aware datetime in local time."""
        return local_from_stored(self._info.created_at)

    @property
    def experiment_id(self) -> str | None:
        """The experiment id the job belongs to."""
        return self._info.experiment_id

    @property
    def client_version(self) -> dict[str, str]:
        """Names and versions of the client that submitted the job."""
        info = dict(self._info.client_info)
        name = info.pop("name", None)
        version = info.pop("version", None)
        versions = {name or "unknown": version or "unknown"} if name or version else {}
        versions.update(info)
        return versions

    def backend_options(self) -> dict[str, Any]:
        """Return the run options the job was submitted with."""
        options: dict[str, Any] = {"shots": self._info.shots, "memory": self._info.memory}
        options.update(self._info.options)
        return options

    def header(self) -> dict[str, Any]:
        """Return the user header attached to the job."""
        return dict(self._info.header)

    def time_per_step(self) -> dict[str, datetime] | None:
        """Return when the job entered each step, in local time, or ``None``."""
        if not self._info.time_per_step or not self._info.status.is_final:
            self.refresh()
        steps = self._info.time_per_step
        return {step: local_from_stored(when) for step, when in steps.items()} if steps else None

    def scheduling_mode(self) -> str | None:
        """Return the scheduling mode the job ran in (``"fairshare"``, ``"dedicated"``...)."""
        if self._info.run_mode is None:
            self.refresh()
        if self._info.run_mode is None and self._info.status in (
            JobStatus.RUNNING,
            JobStatus.DONE,
        ):
            return "fairshare"
        return self._info.run_mode

    def usage(self) -> float | None:
        """Return the device time the job consumed in seconds (``None`` until it ends).

        Emulated devices count what the job would take on the hardware (shots × (schedule
        duration + ``rep_delay``) per circuit), ideal simulators host seconds; see
        ``docs/scheduling.md``.
        """
        if self._info.usage_seconds is None:
            self.refresh()
        return self._info.usage_seconds

    def submit(self) -> None:
        """Not supported: use ``backend.run()``.

        Raises:
            NotImplementedError: always.
        """
        raise NotImplementedError(
            "job.submit() is not supported. Please use backend.run() instead."
        )

    # --- server state -----------------------------------------------------------------

    def refresh(self) -> None:
        """Fetch the job record again."""
        self._info = self._api.job(self._job_id)

    def status(self) -> QiskitJobStatus:
        """Return the job status (no request once the status is final).

        Raises:
            OpenQXJobApiError: the server could not be asked.
        """
        if not self._info.status.is_final:
            self._apply(self._api.job_status(self._job_id))
        return to_qiskit_status(self._info.status)

    def _apply(self, info: wire.JobStatusInfo) -> None:
        """Update the cached record from a status answer."""
        was_final = self._info.status.is_final
        self._info.status = info.status
        self._info.queue_position = info.queue_position
        if info.error is not None:
            self._info.error = info.error
        if info.status.is_final and not was_final:
            self.refresh()

    def queue_position(self, refresh: bool = False) -> int | None:
        """Return the job's position in the queue, or ``None`` when it is not queued.

        Args:
            refresh: ask the server first.
        """
        if refresh:
            self.status()
        if self._info.status is not JobStatus.QUEUED:
            return None
        return self._info.queue_position

    def queue_info(self) -> QueueInfo | None:
        """Return queue information when the job is queued, else ``None``."""
        self.status()
        if self._info.status is not JobStatus.QUEUED:
            return None
        info = QueueInfo.from_wire(self._api.job_queue_info(self._job_id))
        return None if info.is_empty() else info

    def properties(self) -> BackendProperties | None:
        """Return the backend properties the job ran with, or ``None``."""
        data = self._api.job_properties(self._job_id)
        if data is None:
            return None
        from qiskit_ibm_runtime.models import BackendProperties

        return BackendProperties.from_dict(data)

    def circuits(self) -> list[QuantumCircuit]:
        """Return the job's circuits (downloaded on first use, then cached)."""
        if self._circuits is None:
            payload = self._api.job_circuits(self._job_id)
            try:
                self._circuits = circuit_payload.decode_circuits(payload.qpy)
            except ValueError as error:
                raise exc.OpenQXJobApiError(
                    f"Unable to decode the circuits of job {self._job_id}: {error}",
                    job_id=self._job_id,
                ) from error
        return list(self._circuits)

    # --- changes ----------------------------------------------------------------------

    def cancel(self) -> bool:
        """Ask the server to cancel the job.

        The server stops a running job before it answers, so a ``True`` answer means the job
        will not complete and ``status()`` reports ``CANCELLED`` from then on.

        Returns:
            Whether the job is cancelled (``False`` when it had already finished, or was
            still being stopped when the server answered).

        Raises:
            OpenQXJobApiError: the request failed.
        """
        try:
            answer = self._api.cancel_job(self._job_id)
        except exc.OpenQXJobInvalidStateError:
            return False
        was_final = self._info.status.is_final
        self._info.status = answer.status
        if answer.status.is_final and not was_final:
            self.refresh()
        return answer.cancelled and answer.status is JobStatus.CANCELLED

    def update_name(self, name: str) -> str:
        """Rename the job.

        Args:
            name: the new name.

        Returns:
            The new name.

        Raises:
            OpenQXJobInvalidStateError: ``name`` is not a valid job name.
            OpenQXJobApiError: the server did not apply it.
        """
        try:
            run_options.validate_job_name(name)
        except ValueError as error:
            raise exc.OpenQXJobInvalidStateError(str(error), job_id=self._job_id) from error
        if not isinstance(name, str):
            raise exc.OpenQXJobInvalidStateError(
                f"{name!r} is not a valid job name. The job name needs to be a string.",
                job_id=self._job_id,
            )
        info = self._api.update_job(self._job_id, wire.JobUpdate(name=name))
        if info.name != name:
            raise exc.OpenQXJobApiError(
                f"An unexpected error occurred when updating the name for job {self._job_id}. "
                f"The name was not updated for the job.",
                job_id=self._job_id,
            )
        self._info = info
        return name

    def update_tags(
        self,
        replacement_tags: list[str] | None = None,
        additional_tags: list[str] | None = None,
        removal_tags: list[str] | None = None,
    ) -> list[str]:
        """Change the job tags.

        ``replacement_tags`` replaces every tag (job-set tags, prefixed ``openqx_jobset_``,
        are kept), then ``additional_tags`` are added and ``removal_tags`` removed (job-set
        tags are never removed).

        Args:
            replacement_tags: the new tag list.
            additional_tags: tags to add.
            removal_tags: tags to remove.

        Returns:
            The job's new tags.

        Raises:
            OpenQXJobInvalidStateError: no argument given, or a tag list is not valid.
            OpenQXJobApiError: the server did not apply the change.
        """
        if replacement_tags is None and additional_tags is None and removal_tags is None:
            raise exc.OpenQXJobInvalidStateError(
                "The tags cannot be updated since none of the parameters are specified.",
                job_id=self._job_id,
            )
        for tags in (replacement_tags, additional_tags, removal_tags):
            try:
                run_options.validate_job_tags(tags)
            except ValueError as error:
                raise exc.OpenQXJobInvalidStateError(
                    f"The tags cannot be updated: {error}", job_id=self._job_id
                ) from error
        current = set(self._info.tags)
        if replacement_tags is not None:
            protected = {tag for tag in current if tag.startswith(JOB_SET_TAG_PREFIX)}
            current = set(replacement_tags) | protected
        if additional_tags:
            current |= set(additional_tags)
        if removal_tags:
            current -= {tag for tag in removal_tags if not tag.startswith(JOB_SET_TAG_PREFIX)}
        new_tags = sorted(current)
        info = self._api.update_job(self._job_id, wire.JobUpdate(tags=new_tags))
        if set(info.tags) != current:
            raise exc.OpenQXJobApiError(
                f"An unexpected error occurred when updating the tags for job {self._job_id}. "
                f"The tags were not updated for the job.",
                job_id=self._job_id,
            )
        self._info = info
        return list(info.tags)

    # --- waiting and results ----------------------------------------------------------

    def wait_for_final_state(
        self,
        timeout: float | None = None,
        wait: float | None = None,
        callback: StatusCallback | None = None,
    ) -> None:
        """Wait until the job is DONE, CANCELLED or ERROR.

        Status comes from the server's event stream, or by polling when the stream is
        unavailable.

        Args:
            timeout: seconds to wait; ``None`` waits for ever.
            wait: seconds between callback calls; ``None`` calls the callback only when the
                status or queue position changes.
            callback: called as ``callback(job_id, status, job, queue_info=...)`` for every
                non-final status.

        Raises:
            OpenQXJobTimeoutError: the job did not finish within ``timeout``.
            OpenQXJobApiError: the server could not be asked.
        """
        self._wait_final(timeout, wait, callback, self.POLL_INTERVAL)

    def _wait_final(
        self,
        timeout: float | None,
        wait: float | None,
        callback: StatusCallback | None,
        poll_interval: float,
    ) -> None:
        if self._info.status.is_final:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        feed, self._feed = self._feed, None
        adopted = feed is not None  # the submission's, followed since before this wait
        if feed is None:
            feed = self._new_feed(poll_interval)
        last_key: tuple[JobStatus, int | None] | None = None
        next_tick = None if wait is None else time.monotonic() + wait
        try:
            while True:
                now = time.monotonic()
                limits = [t - now for t in (deadline, next_tick if callback else None) if t]
                block = max(min(limits), 0.0) if limits else None
                try:
                    item = feed.updates.get(timeout=block)
                except queue.Empty:
                    item = None
                if isinstance(item, BaseException) and adopted:
                    # What went wrong before this wait (a server restarted meanwhile): ask
                    # again, once, rather than report an old failure.
                    feed.stop()
                    feed, adopted = self._new_feed(poll_interval), False
                    continue
                if isinstance(item, BaseException):
                    if isinstance(item, exc.OpenQXJobError):
                        raise item
                    raise exc.OpenQXJobApiError(
                        f"Error while waiting for job {self._job_id}: {item}", job_id=self._job_id
                    ) from item
                if isinstance(item, wire.JobFinal):
                    self.take_final(item)
                elif item is not None:
                    self._apply(item)
                if self._info.status.is_final:
                    # Also when another thread's cancel() or refresh() ended it: the callback
                    # is never called with a final status.
                    return
                if deadline is not None and time.monotonic() >= deadline:
                    raise exc.OpenQXJobTimeoutError(
                        f"Timeout while waiting for job {self._job_id}.", job_id=self._job_id
                    )
                if callback is None:
                    continue
                key = (self._info.status, self.queue_position())
                if next_tick is None:
                    if item is not None and key != last_key:
                        last_key = key
                        self._call(callback)
                elif time.monotonic() >= next_tick:
                    assert wait is not None
                    next_tick = time.monotonic() + wait
                    self._call(callback)
        finally:
            feed.stop()

    def _new_feed(self, poll_interval: float) -> status_feed.StatusFeed:
        return status_feed.StatusFeed(self._api, self._job_id, poll_interval=poll_interval).start()

    def take_final(self, final: wire.JobFinal) -> None:
        """Keep a final record and its small result, as the status stream's ``job`` event or
        ``POST /jobs/wait`` sends them: no refresh and no result request follow."""
        self._info, self._result_data = final.job, final.result

    def _call(self, callback: StatusCallback) -> None:
        position = self.queue_position()
        queue_info = (
            QueueInfo(self._job_id, position=position, status=self._info.status.name)
            if self._info.status is JobStatus.QUEUED
            else None
        )
        callback(self._job_id, to_qiskit_status(self._info.status), self, queue_info=queue_info)

    def result(
        self,
        timeout: float | None = None,
        wait: float = 5,
        partial: bool = False,
        refresh: bool = False,
    ) -> Result:
        """Wait for the job to finish and return its result.

        Args:
            timeout: seconds to wait; ``None`` waits for ever.
            wait: seconds between status requests when the event stream is unavailable.
            partial: for a failed job, return the results of the experiments that ran.
            refresh: download the result again even if cached.

        Returns:
            The job result.

        Raises:
            OpenQXJobInvalidStateError: the job was cancelled.
            OpenQXJobFailureError: the job failed (and no partial result was asked for or
                exists).
            OpenQXJobTimeoutError: the job did not finish within ``timeout``.
            OpenQXJobApiError: the result could not be downloaded or decoded.
        """
        if self._result is not None and not refresh:
            return self._result
        self._wait_final(timeout, None, None, wait)
        status = self._info.status
        if status is JobStatus.CANCELLED:
            raise exc.OpenQXJobInvalidStateError(
                f"Unable to retrieve result for job {self._job_id}. Job was cancelled.",
                job_id=self._job_id,
            )
        if status is JobStatus.ERROR:
            if partial:
                result = self._fetch_result(partial=True, quiet=True)
                if result is not None and result.results:
                    self._result = result
                    return result
            reason = self._error_text()
            if "\n" in reason:  # as the seed: the first line, the rest from error_message()
                first = reason.split("\n", 1)[0].rstrip(" .:")
                reason = f"{first}. Use the error_message() method to get more details"
            raise exc.OpenQXJobFailureError(
                f"Unable to retrieve result for job {self._job_id}. Job has failed: {reason}",
                job_id=self._job_id,
                code=self._info.error.code if self._info.error else None,
            )
        result = self._fetch_result(partial=False, quiet=False)
        assert result is not None
        self._result = result
        return result

    def _final_result_data(self, *, partial: bool = False) -> dict[str, Any]:
        """The result JSON of the finished job: the one the status stream carried (used
        once), else ``GET /jobs/{id}/result``."""
        if not partial and self._result_data is not None:
            data, self._result_data = self._result_data, None
            return data
        return self._api.job_result(self._job_id, partial=partial)

    def _fetch_result(self, *, partial: bool, quiet: bool) -> Result | None:
        try:
            data = self._final_result_data(partial=partial)
            # The seed put the submitting client's versions into every result.
            data.setdefault("client_version", self.client_version)
            return Result.from_dict(data)
        except exc.OpenQXError:
            if quiet:
                return None
            raise
        except Exception as error:
            if quiet:
                return None
            raise exc.OpenQXJobApiError(
                f"Unable to decode the result of job {self._job_id}: {error}",
                job_id=self._job_id,
            ) from error

    def _error_text(self) -> str:
        error = self._info.error
        if error is None:
            return "Unknown error."
        message = error.message.rstrip()
        return f"{message.removesuffix('.')}. Error code: {error.code}."

    def error_message(self, timeout: float | None = None) -> str | None:
        """Wait for the job to finish and return why it failed, or ``None`` if it did not.

        Args:
            timeout: seconds to wait; ``None`` waits for ever.

        Raises:
            OpenQXJobTimeoutError: the job did not finish within ``timeout``.
        """
        self.wait_for_final_state(timeout=timeout)
        if self._info.status is not JobStatus.ERROR:
            return None
        if self._info.error is None:
            self.refresh()
        if self._info.error is None:
            try:
                data = self._api.job_result(self._job_id, partial=True)
            except exc.OpenQXError:
                data = {}
            failed = results.failed_experiments_message(data)
            if failed is not None:
                return failed
        return self._error_text()
