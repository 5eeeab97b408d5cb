"""Job filters: validate ``jobs()`` arguments locally, build a ``JobQuery``, follow pages."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from openqx.client import exceptions as exc
from openqx.client.http import ApiClient
from openqx.core import paging, run_options, times, wire
from openqx.core.status import JobStatus, parse_status

__all__ = ["LISTING_SCOPES", "SERVER_PAGE_MAX", "build_job_query", "check_scope", "iter_job_infos"]

SERVER_PAGE_MAX = paging.MAX_PAGE
"""Most jobs the client asks for in one ``POST /jobs/search`` (the server's page maximum)."""
LISTING_SCOPES = ("own", "shared", "all")
"""The listing scopes of ``POST /jobs/search?scope=`` (the server's ``store.access``, which the
client may not import): ``own`` the caller's jobs (of the provider's instance), ``shared``
others' jobs the caller may read (shared with a project, group or hub of theirs, ``global``,
or in a unit they administer), ``all`` both."""


def check_scope(scope: Any) -> str:
    """``scope`` when it is one of ``LISTING_SCOPES``.

    Raises:
        OpenQXBackendValueError: any other value.
    """
    if not isinstance(scope, str) or scope not in LISTING_SCOPES:
        raise exc.OpenQXBackendValueError(
            f"{scope!r} is not a valid scope value. Valid values are "
            + ", ".join(f'"{s}"' for s in LISTING_SCOPES)
        )
    return scope


def _statuses(status: Any) -> list[JobStatus] | None:
    if status is None:
        return None
    values = [status] if isinstance(status, str) or not isinstance(status, Sequence) else status
    try:
        return list(dict.fromkeys(parse_status(value) for value in values))
    except ValueError as error:
        raise exc.OpenQXBackendValueError(str(error)) from error


def build_job_query(
    *,
    limit: int | None = 10,
    skip: int = 0,
    backend_name: str | None = None,
    status: Any = None,
    job_name: str | None = None,
    start_datetime: datetime | None = None,
    end_datetime: datetime | None = None,
    job_tags: list[str] | None = None,
    job_tags_operator: str | None = "OR",
    experiment_id: str | None = None,
    descending: bool = True,
    db_filter: dict[str, Any] | None = None,
    ids_only: bool = False,
    kind: wire.JobKind | None = None,
) -> wire.JobQuery:
    """Validate ``jobs()`` filters and return the first-page query (``kind``: only circuit
    or only runtime jobs).

    Raises:
        OpenQXBackendValueError: a filter value is not valid.
    """
    try:
        paging.check_limit(limit)
        paging.check_skip(skip)
        run_options.validate_job_tags(job_tags)
    except ValueError as error:
        raise exc.OpenQXBackendValueError(str(error)) from error
    operator = (
        (job_tags_operator or "OR").upper() if isinstance(job_tags_operator, str | None) else None
    )
    if operator not in ("OR", "AND"):
        raise exc.OpenQXBackendValueError(
            f'"{job_tags_operator}" is not a valid job_tags_operator value. '
            'Valid values are "AND" and "OR"'
        )
    if job_name is not None:
        if not isinstance(job_name, str):
            raise exc.OpenQXBackendValueError("job_name needs to be a string.")
        try:
            re.compile(job_name)
        except re.error as error:
            raise exc.OpenQXBackendValueError(
                f"job_name {job_name!r} is not a valid regular expression: {error}"
            ) from error
    for label, value in (("start_datetime", start_datetime), ("end_datetime", end_datetime)):
        if value is not None and not isinstance(value, datetime):
            raise exc.OpenQXBackendValueError(f"{label} needs to be a datetime.")
    # Naive datetimes from the user are local time (the seed's rule).
    start = times.utc_from_user(start_datetime) if start_datetime is not None else None
    end = times.utc_from_user(end_datetime) if end_datetime is not None else None
    if start and end and start > end:
        raise exc.OpenQXBackendValueError("start_datetime is later than end_datetime.")
    if db_filter is not None and not isinstance(db_filter, dict):
        raise exc.OpenQXBackendValueError("db_filter needs to be a dict.")
    page = paging.page_size(limit, SERVER_PAGE_MAX)
    return wire.JobQuery(
        limit=page,
        skip=skip,
        backend=backend_name,
        status=_statuses(status),
        name=job_name,
        start_datetime=start,
        end_datetime=end,
        tags=list(job_tags) if job_tags else None,
        tags_operator=operator,  # type: ignore[arg-type]
        experiment_id=experiment_id,
        descending=bool(descending),
        db_filter=db_filter,
        ids_only=ids_only,
        kind=kind,
    )


def iter_job_infos(
    api: ApiClient, query: wire.JobQuery, limit: int | None, *, scope: str = "own"
) -> Iterator[wire.JobInfo]:
    """Yield up to ``limit`` jobs (all for ``None``/0) of the listing ``scope``, following
    ``next_cursor``."""
    collected = 0
    while True:
        # ``own`` is the seed's request (no scope parameter).
        page = api.search_jobs(query) if scope == "own" else api.search_jobs(query, scope=scope)
        for info in page.jobs:
            yield info
            collected += 1
            if limit and collected >= limit:
                return
        if not page.jobs or page.next_cursor is None:
            return
        remaining = paging.page_size(limit and limit - collected, SERVER_PAGE_MAX)
        query = query.model_copy(update={"cursor": page.next_cursor, "skip": 0, "limit": remaining})
