"""The HTTP client: one typed method per endpoint of the wire contract (``openqx.core.wire``).

``ApiClient`` speaks through one ``openqx.connection.session.ServerSession`` (a keep-alive
``httpx.Client``, with its retry rule: connection failures always, broken answers and
502/503/504 for idempotent requests, so a job is never submitted twice). Every failure leaves
this module as one of the provider exceptions, mapped in ``_map_error`` (the one place where
server error codes become exceptions): the wire code is turned into its domain error with
``openqx.core.errors.error_class_for_code``, and ``EXCEPTION_FOR_ERROR`` gives the provider
exception for that error and the request's context.
"""

from __future__ import annotations

import json
import os
import threading
import typing
from collections.abc import Callable, Generator, Iterator, Mapping
from datetime import datetime
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, RootModel, TypeAdapter, ValidationError

from openqx.client import exceptions as exc
from openqx.connection.failures import (
    ErrorAnswer,
    InvalidSetting,
    InvalidUrl,
    NoAnswer,
    NotJson,
)
from openqx.connection.session import (
    DEFAULT_BACKOFF,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    ServerSession,
    path_segment,
)
from openqx.core import errors, wire

__all__ = [
    "DEFAULT_TIMEOUT",
    "EXCEPTION_FOR_ERROR",
    "MAX_WATCHED_SUBMISSIONS",
    "STREAM_SUBMISSIONS_VARIABLE",
    "ApiClient",
    "Context",
    "StreamItem",
]

MAX_WATCHED_SUBMISSIONS = 8
"""Submissions whose status stream one client keeps open at once (``submit_watched``); past
them, jobs are submitted plainly and their stream is opened when they are waited for."""
STREAM_SUBMISSIONS_VARIABLE = "OPENQX_STREAM_SUBMISSIONS"
"""Set to ``0`` (or ``false``, ``no``, ``off``), clients submit every job plainly: for a proxy
that buffers answers (with it, a streamed submission would return only when its job ends)."""
_EVENT_STREAM = "text/event-stream"

StreamItem = wire.JobStatusInfo | wire.JobFinal
"""What a job's status stream carries: statuses and, just before the final one, the final
record with its small result."""

Context = Literal["account", "backend", "job", "job_set", "runtime"]
"""What a request is about; it picks the exception family of a failure."""
_M = TypeVar("_M", bound=BaseModel)


class ApiClient:
    """Typed access to the openqx HTTP API v1.

    Args:
        url: the server's base URL, e.g. ``http://127.0.0.1:8000`` (a trailing ``/v1`` is
            accepted).
        token: the API token, sent as ``Authorization: Bearer <token>``.
        transport: an ``httpx`` transport (tests pass ``httpx.MockTransport``).
        timeout: seconds for connecting and for reading one answer.
        retries: extra attempts after a retryable failure.
        backoff_factor: seconds before the first retry, doubled on each further retry.
        proxies: proxies for the connection, in the seed's format
            (``openqx.connection.session.proxy_mounts``).
        verify: check the server's TLS certificate (``False``: do not; a path: against that
            CA bundle).

    Raises:
        OpenQXAccountCredentialsInvalidUrl: ``url`` is not a valid URL.
        OpenQXAccountError: ``proxies`` or ``verify`` is not valid.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff_factor: float = DEFAULT_BACKOFF,
        proxies: Mapping[str, Any] | None = None,
        verify: bool | str = True,
        instance: str | None = None,
    ) -> None:
        self._options: dict[str, Any] = {
            "transport": transport,
            "timeout": timeout,
            "retries": retries,
            "backoff_factor": backoff_factor,
            "proxies": proxies,
            "verify": verify,
        }
        self.instance = instance
        try:
            self._session = ServerSession(url, token, instance=instance, **self._options)
        except InvalidUrl as error:
            raise exc.OpenQXAccountCredentialsInvalidUrl(str(error)) from error
        except InvalidSetting as error:
            raise exc.OpenQXAccountError(str(error)) from error
        self._http = self._session.http
        self.url = self._session.url
        self.token = token
        self.retries = retries
        self.backoff_factor = backoff_factor
        self._timeout = timeout
        self._watch_slots = threading.BoundedSemaphore(_watched_submissions())
        self.proxies = dict(proxies) if proxies else None
        self.verify = verify

    def set_instance(self, instance: str | None) -> None:
        """Act through ``instance`` from now on (None: the account's default)."""
        self.instance = instance
        self._session.set_instance(instance)

    def for_instance(self, instance: str | None) -> ApiClient:
        """A client of the same server, token and options acting through ``instance`` (sent
        as the ``X-OpenQX-Instance`` header; None: the account's default)."""
        return ApiClient(self.url, self.token, instance=instance, **self._options)

    # --- lifecycle --------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool."""
        self._session.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ApiClient {self.url!r}>"

    # --- copies and pickles -------------------------------------------------------------
    # The ``httpx.Client`` holds locks and sockets: a deep copy shares it (the client is
    # safe to use from several threads and its settings never change), and a pickle
    # carries only the settings, so unpickling (in this or another process) opens a new
    # connection pool to the same server with the same token and instance.

    def __deepcopy__(self, memo: dict[int, Any]) -> ApiClient:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        options = {key: value for key, value in self._options.items() if value is not None}
        return (_reopen, (self.url, self.token, self.instance, options))

    # --- account ----------------------------------------------------------------------

    def version(self) -> wire.VersionInfo:
        """``GET /version``."""
        return self._model("GET", "/version", wire.VersionInfo, context="account")

    def account(self) -> wire.AccountInfo:
        """``GET /account``."""
        return self._model("GET", "/account", wire.AccountInfo, context="account")

    # --- backends ---------------------------------------------------------------------

    def backends(self) -> list[wire.BackendSummary]:
        """``GET /backends``."""
        data = self._json("GET", "/backends", context="backend")
        return _validate(_SUMMARIES, data, "backend")

    def backend(self, name: str) -> wire.BackendSummary:
        """``GET /backends/{name}``."""
        return self._model(
            "GET", f"/backends/{_backend_segment(name)}", wire.BackendSummary, context="backend"
        )

    def backend_configuration(self, name: str) -> dict[str, Any]:
        """``GET /backends/{name}/configuration``: the configuration dict."""
        data = self._json(
            "GET", f"/backends/{_backend_segment(name)}/configuration", context="backend"
        )
        if not isinstance(data, dict):
            raise exc.OpenQXBackendApiProtocolError(
                f"Unexpected configuration received from the server for backend {name}."
            )
        return data

    def backend_properties(self, name: str, when: datetime | None = None) -> dict[str, Any] | None:
        """``GET /backends/{name}/properties``: the properties dict or ``None``.

        Args:
            name: the backend.
            when: an aware datetime: the newest properties older than it.
        """
        params = {"datetime": when.isoformat()} if when is not None else None
        data = self._json(
            "GET",
            f"/backends/{_backend_segment(name)}/properties",
            params=params,
            context="backend",
        )
        if data is not None and not isinstance(data, dict):
            raise exc.OpenQXBackendApiProtocolError(
                f"Unexpected properties received from the server for backend {name}."
            )
        return data or None

    def backend_defaults(self, name: str) -> dict[str, Any] | None:
        """``GET /backends/{name}/defaults``: the pulse defaults dict or ``None``."""
        data = self._json("GET", f"/backends/{_backend_segment(name)}/defaults", context="backend")
        if data is not None and not isinstance(data, dict):
            raise exc.OpenQXBackendApiProtocolError(
                f"Unexpected pulse defaults received from the server for backend {name}."
            )
        return data or None

    def backend_snapshots(
        self,
        name: str,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[wire.CalibrationSnapshotInfo]:
        """``GET /backends/{name}/snapshots``: the calibration history's snapshots dated in
        ``[start, end]`` (aware datetimes; default the last 30 days), oldest first."""
        params = {
            key: value
            for key, value in (
                ("start", start.isoformat() if start else None),
                ("end", end.isoformat() if end else None),
                ("limit", str(limit) if limit is not None else None),
            )
            if value is not None
        }
        data = self._json(
            "GET",
            f"/backends/{_backend_segment(name)}/snapshots",
            params=params or None,
            context="backend",
        )
        return _validate(_SNAPSHOTS, data, "backend")

    def import_backend_properties(
        self, name: str, properties: dict[str, Any]
    ) -> wire.CalibrationSnapshotInfo:
        """``POST /backends/{name}/properties`` (admin): import a ``BackendProperties`` JSON
        snapshot into the device's calibration history."""
        return self._model(
            "POST",
            f"/backends/{_backend_segment(name)}/properties",
            wire.CalibrationSnapshotInfo,
            body=RootModel[dict[str, Any]](properties),
            context="backend",
            idempotent=False,
        )

    def backend_status(self, name: str) -> wire.BackendStatusInfo:
        """``GET /backends/{name}/status``."""
        return self._model(
            "GET",
            f"/backends/{_backend_segment(name)}/status",
            wire.BackendStatusInfo,
            context="backend",
        )

    def backend_job_limit(self, name: str) -> wire.JobLimitInfo:
        """``GET /backends/{name}/job_limit``."""
        return self._model(
            "GET",
            f"/backends/{_backend_segment(name)}/job_limit",
            wire.JobLimitInfo,
            context="backend",
        )

    # --- jobs -------------------------------------------------------------------------

    def submit_job(self, submission: wire.JobSubmission) -> wire.JobInfo:
        """``POST /jobs``: never re-sent once the request may have reached the server."""
        return self._model(
            "POST",
            "/jobs",
            wire.JobInfo,
            body=submission,
            context="backend",
            idempotent=False,
        )

    def submit_watched(
        self, submission: wire.JobSubmission, *, read_timeout: float | None = None
    ) -> tuple[wire.JobInfo, Iterator[StreamItem] | None]:
        """``POST /jobs`` answered with the job's status stream (``Accept:
        text/event-stream``): the job as queued and the rest of its stream (statuses as they
        come; after the stream has ended, the ``JobFinal`` and the final status), so that
        waiting for the job takes no second request. With ``MAX_WATCHED_SUBMISSIONS``
        streams open already, or when the connection failed before anything was sent, it is
        ``submit_job`` (and no stream).

        Args:
            submission: the job.
            read_timeout: seconds to wait for the next event (default: the client's).

        Raises:
            OpenQXBackendApiError (and the other errors of ``submit_job``): the submission
                failed. A failure of the stream after the job is queued is raised by the
                iterator (an ``OpenQXError``).
        """
        if not self._watch_slots.acquire(blocking=False):
            return self.submit_job(submission), None
        timeout = httpx.Timeout(self._timeout, read=max(read_timeout or 0.0, self._timeout))
        request = self._http.stream(
            "POST",
            "/jobs",
            content=submission.model_dump_json(exclude_none=False),
            headers={"Content-Type": "application/json", "Accept": _EVENT_STREAM},
            timeout=timeout,
        )
        events = self._job_events(request, "backend", None, release=self._watch_slots.release)
        try:
            first = next(events)
        except _NotSentError:
            return self.submit_job(submission), None  # it retries what never reached the server
        except StopIteration:
            raise _protocol_error(
                "The server ended the submission's stream before the job was queued.",
                "backend",
                None,
            ) from None
        if not isinstance(first, wire.JobInfo):
            events.close()
            raise _protocol_error(
                "The submission's stream did not start with the job.", "backend", None
            )
        return first, typing.cast(Iterator[StreamItem], events)

    def submit_jobs(self, submissions: list[wire.JobSubmission]) -> list[wire.JobInfo]:
        """``POST /jobs/batch``: several jobs in one request, stored all together or not at
        all (at most ``wire.MAX_BATCH_JOBS``); never re-sent once it may have reached the
        server."""
        answer = self._model(
            "POST",
            "/jobs/batch",
            wire.JobBatchInfo,
            body=wire.JobBatchSubmission(jobs=submissions),
            context="backend",
            idempotent=False,
        )
        return answer.jobs

    def wait_jobs(self, job_ids: list[str], timeout: float) -> list[wire.JobFinal]:
        """``POST /jobs/wait``: the jobs of ``job_ids`` that are final, once at least one is
        or after ``timeout`` seconds (at most ``wire.MAX_WAIT_SECONDS``; then possibly
        none), each with its record and, when small, its result."""
        body = wire.JobWait(ids=job_ids, timeout=min(max(timeout, 0.0), wire.MAX_WAIT_SECONDS))
        data = self._json(
            "POST",
            "/jobs/wait",
            body=body,
            context="job",
            read_timeout=body.timeout + self._timeout,
        )
        return _validate_model(wire.JobFinals, data, "job", None).jobs

    def search_jobs(self, query: wire.JobQuery, *, scope: str = "own") -> wire.JobPage:
        """``POST /jobs/search`` (a read: retried like a ``GET``). ``scope``: ``own`` (the
        caller's jobs, of this client's instance when it has one), ``shared`` (others' jobs
        the caller may read) or ``all``."""
        data = self._json(
            "POST",
            "/jobs/search",
            params=None if scope == "own" else {"scope": scope},
            body=query,
            context="backend",
        )
        return _validate_model(wire.JobPage, data, "backend", None)

    def job(self, job_id: str, *, context: Context = "job") -> wire.JobInfo:
        """``GET /jobs/{id}``."""
        path = f"/jobs/{_job_segment(job_id, context)}"
        return self._model("GET", path, wire.JobInfo, context=context, job_id=job_id)

    def update_job(self, job_id: str, update: wire.JobUpdate) -> wire.JobInfo:
        """``PATCH /jobs/{id}`` (a full replacement of name/tags, hence idempotent)."""
        return self._model(
            "PATCH",
            f"/jobs/{_job_segment(job_id)}",
            wire.JobInfo,
            body=update,
            context="job",
            job_id=job_id,
        )

    def job_status(self, job_id: str) -> wire.JobStatusInfo:
        """``GET /jobs/{id}/status``."""
        return self._model(
            "GET",
            f"/jobs/{_job_segment(job_id)}/status",
            wire.JobStatusInfo,
            context="job",
            job_id=job_id,
        )

    def job_result(self, job_id: str, partial: bool = False) -> dict[str, Any]:
        """``GET /jobs/{id}/result``: qiskit ``Result.to_dict()`` JSON."""
        params = {"partial": "true"} if partial else None
        data = self._json(
            "GET",
            f"/jobs/{_job_segment(job_id)}/result",
            params=params,
            context="job",
            job_id=job_id,
        )
        if not isinstance(data, dict):
            raise exc.OpenQXJobApiError(
                f"Unexpected result received from the server for job {job_id}.", job_id=job_id
            )
        return data

    def job_circuits(self, job_id: str) -> wire.CircuitsPayload:
        """``GET /jobs/{id}/circuits``."""
        return self._model(
            "GET",
            f"/jobs/{_job_segment(job_id)}/circuits",
            wire.CircuitsPayload,
            context="job",
            job_id=job_id,
        )

    def job_properties(self, job_id: str) -> dict[str, Any] | None:
        """``GET /jobs/{id}/properties``: the properties the job ran with, or ``None``."""
        data = self._json(
            "GET", f"/jobs/{_job_segment(job_id)}/properties", context="job", job_id=job_id
        )
        return data if isinstance(data, dict) and data else None

    def job_queue_info(self, job_id: str) -> wire.QueueInfo:
        """``GET /jobs/{id}/queue_info``."""
        return self._model(
            "GET",
            f"/jobs/{_job_segment(job_id)}/queue_info",
            wire.QueueInfo,
            context="job",
            job_id=job_id,
        )

    def cancel_job(self, job_id: str) -> wire.CancelAnswer:
        """``POST /jobs/{id}/cancel`` (idempotent)."""
        return self._model(
            "POST",
            f"/jobs/{_job_segment(job_id)}/cancel",
            wire.CancelAnswer,
            context="job",
            job_id=job_id,
        )

    def submit_runtime_job(self, submission: wire.RuntimeJobSubmission) -> wire.JobInfo:
        """``POST /runtime/jobs``."""
        return self._model(
            "POST",
            "/runtime/jobs",
            wire.JobInfo,
            body=submission,
            context="runtime",
            idempotent=False,
        )

    def job_set(self, set_id: str) -> list[wire.JobInfo]:
        """``GET /job_sets/{set_id}``: every job tagged with the set."""
        data = self._json("GET", f"/job_sets/{_job_set_segment(set_id)}", context="job_set")
        return _validate(_JOB_INFOS, data, "job")

    def stream_job_status(
        self,
        job_id: str,
        timeout: float | None = None,
        *,
        on_final: Callable[[wire.JobFinal], None] | None = None,
    ) -> Iterator[wire.JobStatusInfo]:
        """Yield status events from ``GET /jobs/{id}/events`` (server-sent events).

        The generator ends when the server closes the stream or a final status arrives. The
        server ends the stream right after the final status: it is read to its end, so that
        its connection goes back to the pool, before the final status is yielded.

        Args:
            job_id: the job.
            timeout: seconds to wait for the next event (``None``: no limit).
            on_final: called with the ``job`` event (``wire.JobFinal``: the record and a
                small result), which the server sends just before the final status; called
                when the stream has ended, just before the final status is yielded.

        Raises:
            ApiError: the stream could not be opened or broke (callers fall back to polling).
        """
        read_timeout = httpx.Timeout(self._timeout, read=timeout)
        request = self._http.stream(
            "GET",
            f"/jobs/{_job_segment(job_id)}/events",
            headers={"Accept": _EVENT_STREAM},
            timeout=read_timeout,
        )
        for item in self._job_events(request, "job", job_id):
            if isinstance(item, wire.JobFinal):
                if on_final is not None:
                    on_final(item)
            elif isinstance(item, wire.JobStatusInfo):
                yield item

    def _job_events(
        self,
        request: typing.ContextManager[httpx.Response],
        context: Context,
        job_id: str | None,
        *,
        release: Callable[[], None] | None = None,
    ) -> Generator[wire.JobInfo | StreamItem, None, None]:
        """The events of a job's status stream (``request``, not yet sent): the ``submitted``
        job when the stream starts with it, then statuses as they come. The server ends the
        stream right after the final status: it is read to its end and closed, so that its
        connection is back in the pool, before the ``JobFinal`` and the final status are
        yielded (the caller learns that the job ended only then). ``release``: called when
        the stream is over.

        Raises:
            OpenQXError: the request failed (``context``'s family) or, once the job is
                known, its stream broke (``ApiError``); _NotSentError when the connection of
                a submission failed before the request was sent.
        """
        ended: wire.JobFinal | None = None
        final: wire.JobStatusInfo | None = None
        started = False
        try:
            try:
                with request as response:
                    started = True
                    if response.status_code >= 400:
                        response.read()
                        raise _map_error(response, context, job_id)
                    if job_id is None and not _is_event_stream(response):
                        # A server that answers a submission with the job alone.
                        response.read()
                        yield _validate_model(wire.JobInfo, response.json(), context, None)
                        return
                    for event, data in _sse_events(response.iter_lines()):
                        if final is not None:
                            continue  # the stream's end, which comes right after
                        if event == wire.SUBMITTED_EVENT:
                            submitted = _validate_model(wire.JobInfo, data, context, job_id)
                            job_id = submitted.id
                            yield submitted
                        elif event == wire.JOB_EVENT:
                            ended = _validate_model(wire.JobFinal, data, "job", job_id)
                        elif event == "status":
                            info = _validate_model(wire.JobStatusInfo, data, "job", job_id)
                            if info.status.is_final:
                                final = info
                            else:
                                yield info
            except (httpx.HTTPError, json.JSONDecodeError) as error:
                if job_id is not None:  # the job is queued: its stream failed
                    raise exc.ApiError(
                        f"Status stream for job {job_id} failed: {error}", job_id=job_id
                    ) from error
                # A submission that may or may not have reached the server.
                if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout) and not started:
                    raise _NotSentError from error
                if isinstance(error, httpx.HTTPError):
                    raise _transport_error(error, context, None) from error
                raise _protocol_error(f"Unreadable submission answer: {error}", context) from error
        finally:
            if release is not None:
                release()
        if ended is not None:
            yield ended
        if final is not None:
            yield final

    # --- administration (admin tokens only) -------------------------------------------

    def create_user(self, user: wire.UserCreate) -> wire.UserCreated:
        """``POST /admin/users``: the new user and its token (shown once)."""
        return self._model(
            "POST", "/admin/users", wire.UserCreated, body=user, context="account", idempotent=False
        )

    def users(self) -> list[wire.AccountInfo]:
        """``GET /admin/users``."""
        data = self._json("GET", "/admin/users", context="account")
        return _validate(_ACCOUNTS, data, "account")

    def set_job_limit(self, backend: str, update: wire.JobLimitUpdate) -> wire.JobLimitInfo:
        """``PUT /admin/backends/{name}/job_limit`` (a full replacement, hence idempotent)."""
        return self._model(
            "PUT",
            f"/admin/backends/{_backend_segment(backend)}/job_limit",
            wire.JobLimitInfo,
            body=update,
            context="backend",
        )

    def reset_job_limit(self, backend: str) -> wire.JobLimitInfo:
        """``DELETE /admin/backends/{name}/job_limit``: back to the default limit."""
        return self._model(
            "DELETE",
            f"/admin/backends/{_backend_segment(backend)}/job_limit",
            wire.JobLimitInfo,
            context="backend",
        )

    def admin(
        self,
        method: str,
        path: str,
        *,
        body: BaseModel | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """Call an administration route (``/admin/...``, see ``core.tenancy_wire``) and return
        its JSON answer (None for 204). Reads and full replacements (GET, PUT, DELETE) are
        retried; POST is not."""
        return self._json(
            method,
            path,
            params=params,
            body=body,
            context="account",
            idempotent=method.upper() != "POST",
        )

    # --- plumbing ---------------------------------------------------------------------

    def _model(
        self,
        method: str,
        path: str,
        model: type[_M],
        *,
        body: BaseModel | None = None,
        context: Context,
        job_id: str | None = None,
        idempotent: bool = True,
    ) -> _M:
        data = self._json(
            method, path, body=body, context=context, job_id=job_id, idempotent=idempotent
        )
        return _validate_model(model, data, context, job_id)

    def _json(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: BaseModel | None = None,
        context: Context,
        job_id: str | None = None,
        idempotent: bool = True,
        read_timeout: float | None = None,
    ) -> Any:
        content = body.model_dump_json(exclude_none=False) if body is not None else None
        try:
            return self._session.request(
                method,
                path,
                params=params,
                content=content,
                idempotent=idempotent,
                read_timeout=read_timeout,
            )
        except NoAnswer as failure:
            raise _transport_error(failure, context, job_id) from failure.__cause__
        except ErrorAnswer as answer:
            raise _map_error(answer, context, job_id) from None
        except NotJson as failure:
            raise _protocol_error(str(failure), context, job_id) from failure.__cause__


def _reopen(url: str, token: str, instance: str | None, options: dict[str, Any]) -> ApiClient:
    """Rebuild a pickled ``ApiClient`` (a new connection pool, the same settings)."""
    return ApiClient(url, token, instance=instance, **options)


_SUMMARIES: TypeAdapter[list[wire.BackendSummary]] = TypeAdapter(list[wire.BackendSummary])
_SNAPSHOTS: TypeAdapter[list[wire.CalibrationSnapshotInfo]] = TypeAdapter(
    list[wire.CalibrationSnapshotInfo]
)
_JOB_INFOS: TypeAdapter[list[wire.JobInfo]] = TypeAdapter(list[wire.JobInfo])
_ACCOUNTS: TypeAdapter[list[wire.AccountInfo]] = TypeAdapter(list[wire.AccountInfo])
_T = TypeVar("_T")


def _validate(adapter: TypeAdapter[_T], data: Any, context: Context) -> _T:
    try:
        return adapter.validate_python(data)
    except ValidationError as error:
        raise _protocol_error(_unexpected(error), context) from error


def _validate_model(model: type[_M], data: Any, context: Context, job_id: str | None) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise _protocol_error(_unexpected(error), context, job_id) from error


_SHOWN_PROBLEMS = 3
"""Problems of an unexpected answer named in its error's message (the rest are counted)."""


def _unexpected(error: ValidationError) -> str:
    """One line for an answer that does not match the contract: what was expected and where
    it differs (not the answer itself, which can be large; it stays on ``__cause__``)."""
    problems = [
        f"{'.'.join(str(part) for part in item['loc']) or 'value'}: {item['msg']}"
        for item in error.errors(include_url=False, include_input=False)
    ]
    more = len(problems) - _SHOWN_PROBLEMS
    shown = "; ".join(problems[:_SHOWN_PROBLEMS]) + (f"; and {more} more" if more > 0 else "")
    return f"Unexpected answer from the server (not a valid {error.title}): {shown}."


def _watched_submissions() -> int:
    """``MAX_WATCHED_SUBMISSIONS``, or 0 when ``OPENQX_STREAM_SUBMISSIONS`` turns them off."""
    setting = os.environ.get(STREAM_SUBMISSIONS_VARIABLE, "").strip().lower()
    return 0 if setting in ("0", "false", "no", "off") else MAX_WATCHED_SUBMISSIONS


def _is_event_stream(response: httpx.Response) -> bool:
    return str(response.headers.get("content-type", "")).startswith(_EVENT_STREAM)


class _NotSentError(Exception):
    """The connection failed before the request was sent (a submission may be tried again)."""


def _sse_events(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    """Parse ``event:``/``data:`` blocks of a ``text/event-stream`` body."""
    event = "message"
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
    if data:
        yield event, json.loads("\n".join(data))


# --- user input in URL paths ------------------------------------------------------------


_WHAT = {
    errors.JobNotFoundError: ("Job", "job id"),
    errors.BackendNotFoundError: ("Backend", "backend name"),
    errors.JobSetNotFoundError: ("Job set", "job set id"),
}


def _segment(value: object, kind: type[errors.NotFoundError], context: Context) -> str:
    """``value`` (an id or name the caller gave) as a path segment; an empty one, or one
    that is not text, names nothing: the not-found error of ``context``, with no request."""
    text = value if isinstance(value, str) else str(value)
    label, what = _WHAT.get(kind, ("Object", "name"))
    problem = f"the {what} is empty" if not text else ""
    if not problem:
        try:
            return path_segment(text)
        except UnicodeEncodeError:
            problem = f"the {what} is not valid text"
    job_id = text if kind is errors.JobNotFoundError else None
    raise _error_class(kind.code, context)(
        f"{label} {text!r} not found: {problem}.", job_id=job_id, code=kind.code
    )


def _job_segment(job_id: object, context: Context = "job") -> str:
    """A job id as a path segment (``_segment``)."""
    return _segment(job_id, errors.JobNotFoundError, context)


def _backend_segment(name: object) -> str:
    """A backend name as a path segment (``_segment``)."""
    return _segment(name, errors.BackendNotFoundError, "backend")


def _job_set_segment(set_id: object) -> str:
    """A job set id as a path segment (``_segment``)."""
    return _segment(set_id, errors.JobSetNotFoundError, "job_set")


# --- the one mapping from HTTP to the exception family ------------------------------------

_Family = dict[Context, type[exc.OpenQXError]]


def _everywhere(cls: type[exc.OpenQXError]) -> _Family:
    return dict.fromkeys(typing.get_args(Context), cls)


_API_ERROR: _Family = {
    "account": exc.OpenQXAccountError,
    "backend": exc.OpenQXBackendApiError,
    "job": exc.OpenQXJobApiError,
    "job_set": exc.OpenQXJobApiError,
    "runtime": exc.OpenQXRuntimeError,
}
_VALUE_ERROR: _Family = {
    "account": exc.OpenQXInputValueError,
    "backend": exc.OpenQXBackendValueError,
    "job": exc.OpenQXJobInvalidStateError,
    "job_set": exc.OpenQXJobInvalidStateError,
    "runtime": exc.OpenQXInputValueError,
}
_STATE_ERROR: _Family = {
    "account": exc.OpenQXAccountError,
    "backend": exc.OpenQXBackendError,
    "job": exc.OpenQXJobInvalidStateError,
    "job_set": exc.OpenQXJobInvalidStateError,
    "runtime": exc.RuntimeInvalidStateError,
}

EXCEPTION_FOR_ERROR: dict[type[errors.ServiceError], _Family] = {
    errors.ServiceError: _API_ERROR,
    errors.InvalidInputError: _VALUE_ERROR,
    errors.PayloadTooLargeError: _VALUE_ERROR,
    errors.AuthenticationError: _everywhere(exc.OpenQXAccountCredentialsInvalidToken),
    errors.PermissionDeniedError: _everywhere(exc.OpenQXNotAuthorizedError),
    errors.NotFoundError: {**_API_ERROR, "job_set": exc.OpenQXJobManagerUnknownJobSet},
    errors.JobNotFoundError: {**_API_ERROR, "runtime": exc.RuntimeJobNotFound},
    errors.JobLimitReachedError: _everywhere(exc.OpenQXBackendJobLimitError),
    errors.InvalidStateError: _STATE_ERROR,
    errors.ResultNotAvailableError: _STATE_ERROR,
}
"""The provider exception for each domain error (``openqx.core.errors``), per context.

A wire ``code`` becomes its domain error class through ``errors.error_class_for_code``; the
class, or its nearest ancestor in this table, picks the exception. An unknown code is a
``ServiceError``.
"""


def _error_class(code: str, context: Context) -> type[exc.OpenQXError]:
    """Choose the exception class for a server error code."""
    for cls in errors.error_class_for_code(code).__mro__:
        family = EXCEPTION_FOR_ERROR.get(cls)
        if family is not None:
            return family[context]
    return _API_ERROR[context]


def _map_error(
    answer: ErrorAnswer | httpx.Response, context: Context, job_id: str | None
) -> exc.OpenQXError:
    """Turn an HTTP error answer (read to its end) into a provider exception, with the
    server's message (``ErrorAnswer`` gives the text)."""
    if isinstance(answer, httpx.Response):
        answer = ErrorAnswer.from_response(answer)
    if answer.status == 404 and answer.code == errors.NotFoundError.code and job_id is not None:
        # No route matched a job's path: its id holds a ``/`` (sent as ``%2F``, which the
        # server decodes before routing), so no job has it.
        answer = ErrorAnswer(
            answer.status, errors.JobNotFoundError.code, f"Job {job_id!r} not found.", {}
        )
    cls = _error_class(answer.code, context)
    # The server's details may repeat fields we pass ourselves (e.g. ``job_id`` of a 404):
    # ours win, the rest stay available as ``error.details``.
    details = answer.details
    extra = {k: v for k, v in details.items() if k not in ("job_id", "status_code", "code")}
    job_id = job_id if job_id is not None else details.get("job_id")
    return cls(str(answer), job_id=job_id, status_code=answer.status, code=answer.code, **extra)


def _transport_error(
    failure: NoAnswer | httpx.HTTPError, context: Context, job_id: str | None
) -> exc.OpenQXError:
    """A request that got no answer."""
    if isinstance(failure, httpx.HTTPError):
        failure = NoAnswer.from_error(failure)
    cls = _API_ERROR[context] if context != "account" else exc.RequestsApiError
    return cls(str(failure), job_id=job_id)


def _protocol_error(message: str, context: Context, job_id: str | None = None) -> exc.OpenQXError:
    """An answer that does not match the contract."""
    if context in ("job", "job_set"):
        return exc.OpenQXJobApiError(message, job_id=job_id)
    if context == "account":
        return exc.ApiError(message, job_id=job_id)
    return exc.OpenQXBackendApiProtocolError(message, job_id=job_id)
