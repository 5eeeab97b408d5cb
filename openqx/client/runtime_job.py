"""``RuntimeJob``: a program run (``circuit-runner``) on the server.

It wraps the same job record as ``OpenQXJob`` (``kind="runtime"``) and reuses its status
and waiting machinery, but speaks the runtime vocabulary: ``result()`` decodes a
``RunnerResult`` and failures raise the ``Runtime*`` exceptions.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from qiskit.providers import JobStatus as QiskitJobStatus
from qiskit.providers.jobstatus import JOB_FINAL_STATES

from openqx.client import exceptions as exc
from openqx.client.job import OpenQXJob
from openqx.client.runner_result import RunnerResult
from openqx.core import circuit_payload, wire
from openqx.core.status import JobStatus

if TYPE_CHECKING:
    from openqx.client.backend import OpenQXBackend
    from openqx.client.http import ApiClient

__all__ = ["RuntimeJob"]


class RuntimeJob:
    """A runtime program job (qiskit-ibm-runtime's ``RuntimeJobV2`` methods, ``status()`` a
    qiskit ``JobStatus``: ``done()``, ``running()``, ``cancelled()``, ``errored()``,
    ``in_final_state()``).

    Do not build it directly: ``provider.run_circuits()``, ``provider.runtime.run()``,
    ``provider.runtime.jobs()`` and ``provider.runtime.job()`` return them.

    Args:
        backend: the backend the program runs on (``None`` when it no longer exists).
        api_client: the API client.
        info: the job record.
        params: the program inputs as sent (``None`` for retrieved jobs: rebuilt on use).
    """

    def __init__(
        self,
        backend: OpenQXBackend | None,
        api_client: ApiClient,
        info: wire.JobInfo,
        params: dict[str, Any] | None = None,
    ) -> None:
        self._job = OpenQXJob(backend, api_client, info)
        self._params = params
        self._result: RunnerResult | None = None

    def __repr__(self) -> str:
        info = self._job.info
        return f"<RuntimeJob('{info.id}') {info.program_id} on {info.backend!r} {info.status.name}>"

    # --- identity ---------------------------------------------------------------------

    def job_id(self) -> str:
        """Return the job id."""
        return self._job.job_id()  # type: ignore[no-any-return]

    def backend(self) -> OpenQXBackend | None:
        """Return the backend the program runs on."""
        # JobV1.backend() raises when there is none; the runtime API returns None.
        return self._job._backend  # type: ignore[no-any-return]

    @property
    def program_id(self) -> str:
        """The program, e.g. ``circuit-runner``."""
        return self._job.info.program_id or ""

    def creation_date(self) -> datetime:
        """Return the creation time as an aware datetime in local time."""
        return self._job.creation_date()

    @property
    def inputs(self) -> dict[str, Any]:
        """The program inputs as sent, with ``circuits`` decoded back to circuits."""
        if self._params is None:
            params = dict(self._job.info.options)
            try:
                params["circuits"] = self._job.circuits()
            except exc.OpenQXError:
                pass
            self._params = params
        params = dict(self._params)
        circuits = params.get("circuits")
        if isinstance(circuits, str):
            params["circuits"] = circuit_payload.decode_circuits(circuits)
        return params

    # --- state ------------------------------------------------------------------------

    def status(self) -> QiskitJobStatus:
        """Return the job status."""
        return self._job.status()

    def done(self) -> bool:
        """Return whether the job has run successfully (status ``DONE``)."""
        return self.status() is QiskitJobStatus.DONE

    def running(self) -> bool:
        """Return whether the job is running now (status ``RUNNING``)."""
        return self.status() is QiskitJobStatus.RUNNING

    def cancelled(self) -> bool:
        """Return whether the job was cancelled (status ``CANCELLED``)."""
        return self.status() is QiskitJobStatus.CANCELLED

    def errored(self) -> bool:
        """Return whether the job failed (status ``ERROR``)."""
        return self.status() is QiskitJobStatus.ERROR

    def in_final_state(self) -> bool:
        """Return whether the job has ended: ``DONE``, ``CANCELLED`` or ``ERROR``."""
        return self.status() in JOB_FINAL_STATES

    def error_message(self) -> str | None:
        """Return why the job failed, or ``None`` if it has not failed (does not wait)."""
        status = self.status()
        if status is not QiskitJobStatus.ERROR:
            return None
        error = self._job.info.error
        if error is None:
            self._job.refresh()
            error = self._job.info.error
        return f"{error.message} (error code: {error.code})" if error else "Unknown error."

    def logs(self) -> str:
        """Return a text log of the job: its steps with times, its status and any error."""
        self._job.refresh()
        info = self._job.info
        lines = [f"Job {info.id} ({info.program_id}) on {info.backend}"]
        for step, when in sorted(info.time_per_step.items(), key=lambda item: item[1]):
            lines.append(f"{when.isoformat()} {step}")
        lines.append(f"status: {info.status.name}")
        if info.error is not None:
            lines.append(f"error: {info.error.message} (error code: {info.error.code})")
        return "\n".join(lines)

    def wait_for_final_state(self, timeout: float | None = None) -> None:
        """Wait until the job is DONE, CANCELLED or ERROR.

        Args:
            timeout: seconds to wait; ``None`` waits for ever.

        Raises:
            OpenQXJobTimeoutError: the job did not finish in time (a qiskit
                ``JobTimeoutError``).
        """
        self._job.wait_for_final_state(timeout=timeout)

    def cancel(self) -> None:
        """Cancel the job.

        Raises:
            RuntimeInvalidStateError: the job is already final.
        """
        if self._job.info.status.is_final:
            raise exc.RuntimeInvalidStateError(
                f"Job {self.job_id()} cannot be cancelled: it is already "
                f"{self._job.info.status.name}.",
                job_id=self.job_id(),
            )
        try:
            cancelled = self._job.cancel()
        except exc.OpenQXError as error:
            raise exc.RuntimeInvalidStateError(
                f"Job {self.job_id()} cannot be cancelled: {error}", job_id=self.job_id()
            ) from error
        if not cancelled:
            self._job.refresh()
            raise exc.RuntimeInvalidStateError(
                f"Job {self.job_id()} cannot be cancelled: it is already "
                f"{self._job.info.status.name}.",
                job_id=self.job_id(),
            )

    def result(self, timeout: float | None = None, wait: float = 5) -> RunnerResult:
        """Wait for the job and return its result.

        Args:
            timeout: seconds to wait; ``None`` waits for ever.
            wait: seconds between status requests when the event stream is unavailable.

        Returns:
            The result, with ``get_quasiprobabilities()`` when mitigation ran.

        Raises:
            RuntimeJobFailureError: the job failed.
            RuntimeInvalidStateError: the job was cancelled.
            OpenQXJobTimeoutError: the job did not finish in time.
        """
        if self._result is not None:
            return self._result
        data = self._final_result_data(timeout, wait)
        try:
            self._result = RunnerResult.from_json_dict(data)
        except Exception as error:
            raise exc.OpenQXRuntimeError(
                f"Unable to decode the result of job {self.job_id()}: {error}",
                job_id=self.job_id(),
            ) from error
        return self._result

    def _final_result_data(self, timeout: float | None, wait: float) -> dict[str, Any]:
        """Wait until the job is final and return its result JSON.

        Raises:
            RuntimeJobFailureError: the job failed.
            RuntimeInvalidStateError: the job was cancelled.
            OpenQXJobTimeoutError: the job did not finish in time.
        """
        self._job._wait_final(timeout, None, None, wait)
        status = self._job.info.status
        if status is JobStatus.ERROR:
            raise exc.RuntimeJobFailureError(
                f"Unable to retrieve job result. {self.error_message()}",
                job_id=self.job_id(),
                code=self._job.info.error.code if self._job.info.error else None,
            )
        if status is JobStatus.CANCELLED:
            raise exc.RuntimeInvalidStateError(
                f"Unable to retrieve result for job {self.job_id()}: the job was cancelled.",
                job_id=self.job_id(),
            )
        return self._job._final_result_data()
