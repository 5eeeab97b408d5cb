"""``openqx admin``: user and limit management through the HTTP API.

The commands speak to the server through the client's ``ApiClient``, so failures arrive as the
provider's exceptions (``openqx.client.exceptions``). Every failure ends the command with one
line on stderr and exit status 1 (2 for a bad argument); nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from pydantic import BaseModel, TypeAdapter, ValidationError

from openqx.client import exceptions as exc
from openqx.client.account import OpenQX
from openqx.client.http import ApiClient
from openqx.core import wire

__all__ = ["ADMIN_RETRIES", "admin", "parse_maximum_jobs"]

ADMIN_RETRIES = 1
"""Extra attempts when the server cannot be reached (a person is waiting at the prompt)."""
EXIT_FAILED = 1
"""Exit status when the server refused the command or could not be reached."""
EXIT_USAGE = 2
"""Exit status for a malformed argument (as ``argparse`` uses)."""

_PROG = "openqx admin"
_ACCOUNTS: TypeAdapter[list[wire.AccountInfo]] = TypeAdapter(list[wire.AccountInfo])


class UsageError(Exception):
    """An argument the command cannot use; the message says which and why."""


def parse_maximum_jobs(value: str) -> int | None:
    """Return the job limit ``value`` means: a non-negative whole number, or ``none``.

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


def _credentials(args: argparse.Namespace) -> tuple[str, str]:
    url = args.url or os.environ.get("OPENQX_URL")
    token = args.token or os.environ.get("OPENQX_TOKEN")
    if not (url and token):
        stored = OpenQX.stored_account()
        url = url or stored.get("url")
        token = token or stored.get("token")
    if not (url and token):
        raise UsageError("give --url and --token (or set OPENQX_URL and OPENQX_TOKEN).")
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"the URL {url!r} needs to start with http:// or https://.")
    return url, token


def _run(api: ApiClient, args: argparse.Namespace) -> str:
    """Run the sub-command and return the answer as JSON text."""
    answer: BaseModel
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
        answer = api.create_user(user)
    elif args.admin_command == "users":
        return _ACCOUNTS.dump_json(api.users(), indent=2).decode()
    else:
        maximum = parse_maximum_jobs(args.maximum_jobs)
        answer = api.set_job_limit(args.backend, wire.JobLimitUpdate(maximum_jobs=maximum))
    return answer.model_dump_json(indent=2)


def _complain(error: Exception) -> None:
    """Print ``error`` as one line on stderr."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    print(f"{_PROG}: {text}", file=sys.stderr)


def admin(args: argparse.Namespace) -> int:
    """Run one admin sub-command: print the answer (JSON) and return the exit status.

    Returns:
        0 on success, 1 when the server refused or could not be reached, 2 for a bad
        argument; each failure is one line on stderr.
    """
    try:
        url, token = _credentials(args)
        with ApiClient(url, token, retries=ADMIN_RETRIES) as api:
            output = _run(api, args)
    except UsageError as error:
        _complain(error)
        return EXIT_USAGE
    except exc.OpenQXError as error:
        _complain(error)
        return EXIT_FAILED
    print(output)
    return 0
