"""The jobs page's filter form: query parameters in, a ``JobQuery`` (the API's search body) out,
with a message per field for what cannot be read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from urllib.parse import urlencode

from pydantic import ValidationError
from starlette.datastructures import QueryParams

from openqx.core.status import JobStatus
from openqx.core.wire import JobQuery

__all__ = ["PAGE_SIZE", "SCOPES", "JobFilter", "parse_filter"]

PAGE_SIZE = 25
SCOPES = {"own": "My jobs", "shared": "Shared with me", "all": "Mine and shared"}
_FIELDS = ("backend", "name", "tags", "tags_operator", "start", "end", "scope")


@dataclass
class JobFilter:
    """What the form holds (as typed, for redisplay), the query it means and its problems."""

    values: dict[str, str]
    statuses: list[str]
    query: JobQuery | None
    scope: str
    problems: dict[str, str] = field(default_factory=dict)

    def link(self, **changes: str | None) -> str:
        """The query string of this filter with ``changes`` (None drops a field)."""
        params: list[tuple[str, str]] = [(k, v) for k, v in self.values.items() if v]
        params += [("status", s) for s in self.statuses]
        for key, value in changes.items():
            params = [(k, v) for k, v in params if k != key]
            if value:
                params.append((key, value))
        return urlencode(params)


def _date(text: str, *, end: bool) -> datetime:
    """A date (``YYYY-MM-DD``, the whole day) or a date and time, read as UTC."""
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_filter(params: QueryParams, *, page_size: int = PAGE_SIZE) -> JobFilter:
    """Read the filter form; ``query`` is None when a field is wrong (``problems`` says why)."""
    values = {name: params.get(name, "").strip() for name in _FIELDS}
    statuses = [s for s in params.getlist("status") if s]
    scope = values["scope"] or "own"
    problems: dict[str, str] = {}
    body: dict[str, object] = {"limit": page_size}
    if scope not in SCOPES:
        problems["scope"] = f"Unknown scope {scope!r}; choose one of {', '.join(SCOPES)}."
    if values["backend"]:
        body["backend"] = values["backend"]
    if values["name"]:
        body["name"] = values["name"]
    known = {s.value for s in JobStatus}
    wrong = [s for s in statuses if s not in known]
    if wrong:
        problems["status"] = (
            f"Unknown status {', '.join(wrong)}; known: {', '.join(sorted(known))}."
        )
    elif statuses:
        body["status"] = statuses
    if values["tags"]:
        body["tags"] = [t.strip() for t in values["tags"].split(",") if t.strip()]
    if values["tags_operator"]:
        body["tags_operator"] = values["tags_operator"]
    for name, key, end in (("start", "start_datetime", False), ("end", "end_datetime", True)):
        if values[name]:
            try:
                body[key] = _date(values[name], end=end)
            except ValueError:
                problems[name] = (
                    f"{values[name]!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)."
                )
    cursor = params.get("cursor")
    if cursor:
        body["cursor"] = cursor
    query = None
    if not problems:
        try:
            query = JobQuery.model_validate(body)
        except ValidationError as exc:
            for error in exc.errors():
                loc = str(error["loc"][0]) if error["loc"] else "filter"
                name = {"start_datetime": "start", "end_datetime": "end"}.get(loc, loc)
                problems.setdefault(name, error["msg"])
    return JobFilter(values=values, statuses=statuses, query=query, scope=scope, problems=problems)
