"""``openqx admin``: users, roles, tokens, hubs/groups/projects, devices, job limits and the
audit log, through the HTTP API (``/admin``).

The commands speak to the server through ``openqx.connection`` (the HTTP session the provider's
``ApiClient`` is built on, with its retries and TLS settings), not through the provider, so a
command starts without importing qiskit. Every failure ends the command with one line on
stderr and exit status 1 (2 for a bad argument); nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from openqx.connection.account_file import read_account, stored_connection
from openqx.connection.failures import ConnectionFailure
from openqx.connection.session import ServerSession, path_segment
from openqx.core import schedule_wire as sw
from openqx.core import tenancy_wire as tw
from openqx.core import wire

__all__ = ["ADMIN_RETRIES", "admin", "parse_maximum_jobs"]

ADMIN_RETRIES = 1
"""Extra attempts when the server cannot be reached (a person is waiting at the prompt)."""
EXIT_FAILED = 1
"""Exit status when the server refused the command or could not be reached."""
EXIT_USAGE = 2
"""Exit status for a malformed argument (as ``argparse`` uses)."""
EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C."""

_PROG = "openqx admin"


class UsageError(Exception):
    """An argument the command cannot use; the message says which and why."""


def parse_maximum_jobs(value: str) -> int | None:
    """Return the job limit ``value`` means: a non-negative whole number, or ``none`` (no
    limit; ``default`` is handled by the caller: back to the device default).

    Raises:
        UsageError: anything else.
    """
    text = value.strip()
    if text.lower() == "none":
        return None
    try:
        maximum = int(text)
    except ValueError:
        raise UsageError(f"maximum_jobs must be a whole number or 'none', not {value!r}.") from None
    if maximum < 0:
        raise UsageError(f"maximum_jobs must be 0 or more (or 'none'), not {maximum}.")
    return maximum


@dataclass(frozen=True)
class _Connection:
    """Where the command goes: the server, the token, and the stored TLS and proxy settings
    when the server is the stored account's."""

    url: str
    token: str
    settings: dict[str, Any] = field(default_factory=dict)


def _connection(args: argparse.Namespace) -> _Connection:
    url = args.url or os.environ.get("OPENQX_URL")
    token = args.token or os.environ.get("OPENQX_TOKEN")
    stored: dict[str, Any] = {}
    if not (url and token):
        stored = read_account()
        url = url or stored.get("url")
        token = token or stored.get("token")
    if not (url and token):
        raise UsageError("give --url and --token (or set OPENQX_URL and OPENQX_TOKEN).")
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"the URL {url!r} needs to start with http:// or https://.")
    settings = stored_connection(stored) if stored.get("url") == url else {}
    return _Connection(url, token, settings)


def _segment(value: str, what: str) -> str:
    """``value`` as one URL path segment, or a UsageError when it names nothing."""
    if not value:
        raise UsageError(f"the {what} is empty.")
    try:
        return path_segment(value)
    except UnicodeEncodeError:
        raise UsageError(f"the {what} {value!r} is not valid text.") from None


def _call(
    api: ServerSession,
    method: str,
    path: str,
    *,
    body: BaseModel | None = None,
    params: dict[str, str] | None = None,
) -> Any:
    """Send one administration request and return its JSON answer (None for 204). Reads and
    full replacements (GET, PUT, DELETE) are retried when the server cannot be reached; POST
    is not (``ServerSession``'s rule)."""
    content = body.model_dump_json(exclude_none=False) if body is not None else None
    return api.request(method, path, params=params, content=content, idempotent=method != "POST")


def _number(value: str, what: str, *, allow_none: bool = False) -> int | None:
    """A whole number >= 0 from the command line (``none`` when ``allow_none``)."""
    text = value.strip()
    if allow_none and text.lower() == "none":
        return None
    try:
        number = int(text)
    except ValueError:
        other = " or 'none'" if allow_none else ""
        raise UsageError(f"{what} must be a whole number{other}, not {value!r}.") from None
    if number < 0:
        raise UsageError(f"{what} must be 0 or more, not {number}.")
    return number


def _body(model: type[BaseModel], **fields: object) -> BaseModel:
    """A request body, or a UsageError naming what is wrong."""
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in error.errors()
        )
        raise UsageError(f"invalid {model.__name__}: {problems}.") from None


def _dump(data: object) -> str:
    return json.dumps(data, indent=2, default=str)


_USER_COMMANDS = frozenset(
    {
        "user",
        "rotate-token",
        "revoke-token",
        "disable-user",
        "enable-user",
        "set-server-admin",
    }
)
"""The commands whose ``name`` is a user put into the request's path."""


def _run_tenancy(api: ServerSession, args: argparse.Namespace) -> str | None:
    """The units, roles, tokens, devices and audit commands (None: not one of them)."""
    command = args.admin_command
    user = _segment(args.name, "user name") if command in _USER_COMMANDS else ""
    if command == "user":
        return _dump(_call(api, "GET", f"/admin/users/{user}"))
    if command == "rotate-token":
        return _dump(_call(api, "POST", f"/admin/users/{user}/token"))
    if command == "revoke-token":
        _call(api, "DELETE", f"/admin/users/{user}/token")
        return _dump({"user": args.name, "token": "revoked"})
    if command in ("disable-user", "enable-user"):
        disable = tw.UserDisable(disabled=command == "disable-user")
        return _dump(_call(api, "PUT", f"/admin/users/{user}/disabled", body=disable))
    if command == "set-server-admin":
        promote = tw.ServerAdminUpdate(is_admin=args.value == "true")
        return _dump(_call(api, "PUT", f"/admin/users/{user}/server_admin", body=promote))
    if command == "units":
        params = {"under": args.under} if args.under else None
        return _dump(_call(api, "GET", "/admin/units", params=params))
    if command == "create-unit":
        unit = _body(tw.UnitCreate, name=args.name, share=_number(args.share, "share"))
        return _dump(_call(api, "POST", "/admin/units", body=unit))
    if command == "rename-unit":
        rename = _body(tw.UnitRename, name=args.name, new_name=args.new_name)
        return _dump(_call(api, "POST", "/admin/units/rename", body=rename))
    if command == "set-share":
        share = _body(tw.UnitShare, name=args.name, share=_number(args.share, "share"))
        return _dump(_call(api, "PUT", "/admin/units/share", body=share))
    if command == "add-member":
        role = _body(tw.MembershipUpdate, user=args.user, scope=args.scope, role=args.role)
        return _dump(_call(api, "PUT", "/admin/memberships", body=role))
    if command == "remove-member":
        _call(api, "DELETE", "/admin/memberships", params={"name": args.user, "scope": args.scope})
        return _dump({"user": args.user, "scope": args.scope, "removed": True})
    if command == "enable-device":
        grant = _body(
            tw.DeviceGrantUpdate,
            instance=args.instance,
            backend=args.backend,
            share=_number(args.share, "share"),
            job_limit=_number(args.job_limit, "job-limit", allow_none=True),
            max_shots=_number(args.max_shots, "max-shots", allow_none=True),
            max_circuits=_number(args.max_circuits, "max-circuits", allow_none=True),
        )
        return _dump(_call(api, "PUT", "/admin/devices", body=grant))
    if command == "disable-device":
        params = {"instance": args.instance, "backend": args.backend}
        _call(api, "DELETE", "/admin/devices", params=params)
        return _dump({**params, "enabled": False})
    if command == "devices":
        return _dump(_call(api, "GET", "/admin/devices", params={"instance": args.instance}))
    if command == "audit":
        limit = _number(args.limit, "limit")
        return _dump(_call(api, "GET", "/admin/audit", params={"limit": str(limit)}))
    return _run_schedule(api, args)


def _run_schedule(api: ServerSession, args: argparse.Namespace) -> str | None:
    """The reservation and maintenance commands (None: not one of them)."""
    command = args.admin_command
    if command == "reserve":
        fields = {"backend": args.backend, "instance": args.instance}
        booking = _body(sw.ReservationCreate, **fields, start=args.start, end=args.end)
        return _dump(_call(api, "POST", "/admin/reservations", body=booking))
    if command == "cancel-reservation":
        reservation = _segment(str(args.reservation_id), "reservation id")
        _call(api, "DELETE", f"/admin/reservations/{reservation}")
        return _dump({"reservation_id": args.reservation_id, "cancelled": True})
    if command == "reservations":
        bounds = {"start": args.start, "end": args.end}
        query = {name: value for name, value in bounds.items() if value}
        backend = _segment(args.backend, "backend name")
        return _dump(_call(api, "GET", f"/backends/{backend}/reservations", params=query))
    if command == "maintenance-start":
        offline = _body(
            sw.MaintenanceCreate,
            backend=args.backend,
            start=args.start,
            end=args.end,
            message=args.message,
        )
        return _dump(_call(api, "POST", "/admin/maintenance", body=offline))
    if command == "maintenance-end":
        backend = _segment(args.backend, "backend name")
        return _dump(_call(api, "DELETE", f"/admin/maintenance/{backend}"))
    if command == "maintenance-cancel":
        if not args.window_id.strip():
            raise UsageError("give the id of a maintenance window ('openqx admin maintenance').")
        window = _segment(args.window_id.strip(), "maintenance window id")
        return _dump(_call(api, "DELETE", f"/admin/maintenance/windows/{window}"))
    if command == "maintenance":
        which = {"backend": args.backend} if args.backend else None
        return _dump(_call(api, "GET", "/admin/maintenance", params=which))
    return None


def _run(api: ServerSession, args: argparse.Namespace) -> str:
    """Run the sub-command and return the answer as JSON text."""
    tenancy = _run_tenancy(api, args)
    if tenancy is not None:
        return tenancy
    if args.admin_command == "create-user":
        fields: dict[str, object] = {"name": args.name, "is_admin": args.admin}
        if args.instance:
            fields["instances"] = args.instance
        try:
            user = wire.UserCreate.model_validate(fields)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
            )
            raise UsageError(f"invalid user: {problems}.") from None
        return _dump(_call(api, "POST", "/admin/users", body=user))
    if args.admin_command == "users":
        return _dump(_call(api, "GET", "/admin/users"))
    limit_path = f"/admin/backends/{_segment(args.backend, 'backend name')}/job_limit"
    if args.maximum_jobs.strip().lower() == "default":
        return _dump(_call(api, "DELETE", limit_path))
    update = wire.JobLimitUpdate(maximum_jobs=parse_maximum_jobs(args.maximum_jobs))
    return _dump(_call(api, "PUT", limit_path, body=update))


def _complain(error: Exception | str) -> None:
    """Print ``error`` as one line on stderr."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    print(f"{_PROG}: {text}", file=sys.stderr)


def admin(args: argparse.Namespace) -> int:
    """Run one admin sub-command: print the answer (JSON) and return the exit status.

    Returns:
        0 on success, 1 when the server refused or could not be reached, 2 for a bad
        argument, 130 after Ctrl-C; each failure is one line on stderr.
    """
    try:
        connection = _connection(args)
        api = ServerSession(
            connection.url, connection.token, retries=ADMIN_RETRIES, **connection.settings
        )
        try:
            output = _run(api, args)
        finally:
            api.close()
    except UsageError as error:
        _complain(error)
        return EXIT_USAGE
    except ConnectionFailure as error:
        _complain(error)
        return EXIT_FAILED
    except KeyboardInterrupt:
        _complain("interrupted.")
        return EXIT_INTERRUPTED
    except Exception as error:  # the promise is one line, never a traceback
        _complain(f"unexpected {type(error).__name__}: {error}")
        return EXIT_FAILED
    print(output)
    return 0
