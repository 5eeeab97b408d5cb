"""The user commands of ``openqx``: ``login``, ``backends``, ``jobs``, ``job``, ``result``,
``cancel`` and ``watch`` (arguments in ``openqx.cli.user_parser``).

They need only the client install: the account comes from the flags, then ``OPENQX_*``
variables, then the account ``openqx login`` saved. Every failure is one line on stderr and
a non-zero exit status (2 for a bad argument, 1 for anything else); nothing prints a
traceback. ``--json`` prints JSON on stdout for scripts.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console

from openqx.client import exceptions as exc
from openqx.client import user_cli_output as out
from openqx.client.account import DEFAULT_URL, OpenQX
from openqx.client.job import OpenQXJob
from openqx.client.provider import AccountProvider
from openqx.connection.account_file import account_path
from openqx.core import instances, wire
from openqx.core.status import JobStatus

__all__ = [
    "CLI_RETRIES",
    "EXIT_FAILED",
    "EXIT_USAGE",
    "PIPE_WIDTH",
    "PROPERTIES_THREADS",
    "UsageError",
    "run_user_command",
]

CLI_RETRIES = 1
"""Extra attempts when the server cannot be reached (a person is waiting at the prompt)."""
PROPERTIES_THREADS = 8
"""Concurrent requests for the calibrations shown by ``openqx backends``."""
PIPE_WIDTH = 200
"""Characters per line of tables written to a pipe or file."""
EXIT_FAILED = 1
"""Exit status when the server refused the command, could not be reached, or a watched job
ended other than DONE."""
EXIT_USAGE = 2
"""Exit status for a malformed argument (as ``argparse`` uses)."""
EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C."""


class UsageError(Exception):
    """An argument the command cannot use; the message says which and why."""


# --- arguments ----------------------------------------------------------------------------


def _whole_number(value: str | None, option: str, default: int | None = None) -> int | None:
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise UsageError(f"{option} must be a whole number, not {value!r}.") from None
    if number < 0:
        raise UsageError(f"{option} must be 0 or more, not {number}.")
    return number


def _seconds(value: str | None, option: str) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise UsageError(f"{option} must be a number of seconds, not {value!r}.") from None
    if not seconds > 0:
        raise UsageError(f"{option} must be more than 0 seconds, not {value}.")
    return seconds


def _time(value: str | None, option: str, *, day_end: bool = False) -> datetime | None:
    """An ISO 8601 time; a bare date is its day's start, or with ``day_end`` its last
    microsecond (``--until 2026-01-31`` keeps that day's jobs, as the dashboard's filter)."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{option} must be an ISO 8601 time such as 2026-01-31 or 2026-01-31T12:00, "
            f"not {value!r}."
        ) from None
    if day_end and _BARE_DATE.fullmatch(value.strip()):
        when += timedelta(days=1, microseconds=-1)
    return when


_BARE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _job_id(value: str) -> str:
    """The ``ID`` argument of ``job``, ``result``, ``cancel`` and ``watch``."""
    if not value.strip():
        raise UsageError(f"the job id {value!r} is empty: give the ID of a job (openqx jobs).")
    return value


def _check_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"the URL {url!r} needs to start with http:// or https://.")
    return url


def _check_instance(instance: str | None) -> tuple[str, str, str] | None:
    if instance is None:
        return None
    try:
        return instances.split_instance(instance)
    except ValueError as error:
        raise UsageError(str(error)) from None


# --- the account --------------------------------------------------------------------------


def _connect(args: argparse.Namespace) -> AccountProvider:
    """The provider for the flags, else ``OPENQX_*``, else the saved account."""
    parts = _check_instance(args.instance)
    stored = OpenQX.stored_account()
    if args.url or args.token:
        url = _check_url(args.url or os.environ.get("OPENQX_URL") or stored.get("url", DEFAULT_URL))
        token = args.token or os.environ.get("OPENQX_TOKEN") or stored.get("token")
        if not token:
            raise UsageError("no token: give --token, set OPENQX_TOKEN or run openqx login.")
        return OpenQX.enable_account(token, url, args.instance, retries=CLI_RETRIES)
    if not (os.environ.get("OPENQX_TOKEN") or stored.get("token")):
        raise UsageError(
            "not logged in: run openqx login --url URL (or give --url and --token, or set "
            "OPENQX_URL and OPENQX_TOKEN)."
        )
    _check_url(os.environ.get("OPENQX_URL") or stored.get("url") or DEFAULT_URL)
    provider = OpenQX.load_account(retries=CLI_RETRIES)
    if parts is not None:
        provider = OpenQX.get_provider(*parts)
    return provider


def _login(args: argparse.Namespace, console: Console) -> int:
    url = _check_url(args.url or os.environ.get("OPENQX_URL") or DEFAULT_URL)
    _check_instance(args.instance)
    token = args.token or os.environ.get("OPENQX_TOKEN")
    if not token:
        if sys.stdin.isatty():
            token = getpass.getpass(f"API token for {url}: ").strip()
        else:  # echo "$TOKEN" | openqx login --url ...
            token = sys.stdin.readline().strip()
        if not token:
            raise UsageError("no token: give --token, set OPENQX_TOKEN or type it when asked.")
    verify = False if args.no_verify else None
    options: dict[str, Any] = {"retries": CLI_RETRIES}
    if verify is not None:
        options["verify"] = verify
    provider = OpenQX.enable_account(token, url, args.instance, **options)
    account = provider.api_client.account()
    OpenQX.save_account(token, url, overwrite=True, instance=args.instance, verify=verify)
    saved = account_path()
    if args.json:
        out.print_json(
            {
                "url": provider.api_client.url,
                "user": account.user,
                "instance": provider.instance,
                "instances": account.instances,
                "saved_to": str(saved),
            },
        )
    else:
        instance = provider.instance or (account.instances[0] if account.instances else "-")
        console.print(
            f"Logged in to {provider.api_client.url} as [bold]{account.user}[/bold] "
            f"(instance {instance}); account saved to {saved}.",
            highlight=False,
        )
    return 0


# --- commands -----------------------------------------------------------------------------


def _backends(args: argparse.Namespace, console: Console) -> int:
    min_qubits = _whole_number(args.min_qubits, "--min-qubits")
    provider = _connect(args)
    api = provider.api_client
    summaries = api.backends()
    if args.devices or args.simulators:
        summaries = [s for s in summaries if s.simulator == bool(args.simulators)]
    if min_qubits is not None:
        summaries = [s for s in summaries if s.num_qubits >= min_qubits]
    devices = [s.name for s in summaries if not s.simulator]
    with ThreadPoolExecutor(max_workers=PROPERTIES_THREADS) as pool:
        properties = dict(zip(devices, pool.map(api.backend_properties, devices), strict=True))
    rows = [out.backend_row(s, properties.get(s.name)) for s in summaries]
    if args.json:
        out.print_json(rows)
    else:
        console.print(out.backends_table(rows))
    return 0


def _jobs(args: argparse.Namespace, console: Console) -> int:
    limit = _whole_number(args.limit, "--limit", 10)
    skip = _whole_number(args.skip, "--skip", 0)
    since = _time(args.since, "--since")
    until = _time(args.until, "--until", day_end=True)
    provider = _connect(args)
    try:
        jobs = provider.backend.jobs(
            limit=limit or None,
            skip=skip or 0,
            backend_name=args.backend,
            status=args.status,
            job_name=args.name,
            start_datetime=since,
            end_datetime=until,
            job_tags=args.tag,
            job_tags_operator="AND" if args.all_tags else "OR",
            experiment_id=args.experiment_id,
            descending=not args.oldest_first,
        )
    except exc.OpenQXBackendValueError as error:  # a filter refused before any request
        raise UsageError(_as_flags(str(error))) from None
    infos = [job.info for job in jobs]
    if args.json:
        out.print_json([info.model_dump(mode="json") for info in infos])
    else:
        console.print(out.jobs_table(infos))
    return 0


_FLAGS = {
    "job_name": "--name",
    "job_tags": "--tag",
    "backend_name": "--backend",
    "start_datetime": "--since",
    "end_datetime": "--until",
    "experiment_id": "--experiment-id",
    "status": "--status",
}


def _as_flags(message: str) -> str:
    """A ``backend.jobs`` refusal in the words of the command line (``job_name`` →
    ``--name``)."""
    return re.sub(r"(?<![\w-])(" + "|".join(_FLAGS) + r")(?!\w)", lambda m: _FLAGS[m[1]], message)


def _counts(provider: AccountProvider, info: wire.JobInfo) -> list[dict[str, int]] | None:
    if info.status is not JobStatus.DONE:
        return None
    return out.counts_of(provider.api_client.job_result(info.id))


def _show_counts(console: Console, counts: list[dict[str, int]]) -> None:
    for index, item in enumerate(counts):
        title = "histogram" if len(counts) == 1 else f"histogram of circuit {index}"
        console.print(out.histogram_table(item, title))


def _job(args: argparse.Namespace, console: Console) -> int:
    job_id = _job_id(args.job_id)
    provider = _connect(args)
    api = provider.api_client
    info = api.job(job_id)
    queue = api.job_queue_info(info.id) if info.status is JobStatus.QUEUED else None
    counts = _counts(provider, info)
    if args.json:
        out.print_json(
            {
                "job": info.model_dump(mode="json"),
                "queue_info": queue.model_dump(mode="json") if queue else None,
                "counts": counts,
            },
        )
        return 0
    console.print(out.job_table(info, queue))
    steps = out.steps_table(info)
    if steps is not None:
        console.print(steps)
    if counts:
        _show_counts(console, counts)
    return 0


def _result(args: argparse.Namespace, console: Console) -> int:
    job_id = _job_id(args.job_id)
    provider = _connect(args)
    data = provider.api_client.job_result(job_id)
    counts = out.counts_of(data)
    if args.json or (counts is None and "primitive_result" not in data):
        out.print_json(data)
    elif counts is None:
        out.print_primitive_result(console, data)
    else:
        _show_counts(console, counts)
    return 0


def _cancel(args: argparse.Namespace, console: Console) -> int:
    _job_id(args.job_id)
    provider = _connect(args)
    answer = provider.api_client.cancel_job(args.job_id)
    if args.json:
        out.print_json({"job_id": args.job_id, **answer.model_dump(mode="json")})
    elif answer.cancelled:
        console.print(f"Job {args.job_id} cancelled ({answer.status.name}).", highlight=False)
    if answer.cancelled:
        return 0
    if not args.json:
        reason = answer.message or f"it is already {answer.status.name}"
        _complain(f"job {args.job_id} was not cancelled: {reason}")
    return EXIT_FAILED


def _watch(args: argparse.Namespace, console: Console) -> int:
    _job_id(args.job_id)
    timeout = _seconds(args.timeout, "--timeout")
    provider = _connect(args)
    api = provider.api_client
    job = OpenQXJob(None, api, api.job(args.job_id))
    started = time.monotonic()
    status_line = console.status("", spinner="dots") if console.is_terminal else None
    shown: list[tuple[str, int | None]] = []

    def show(status: str, position: int | None = None) -> None:
        if shown and shown[-1] == (status, position):
            return  # the stream's first event repeats what was shown at the start
        shown.append((status, position))
        elapsed = time.monotonic() - started
        if args.json:
            out.print_json(
                {"job_id": args.job_id, "status": status, "queue_position": position},
                one_line=True,
            )
            return
        where = f" (queue position {position})" if position is not None else ""
        console.print(f"{elapsed:7.1f} s  {status}{where}", highlight=False)
        if status_line is not None:
            status_line.update(f"job {args.job_id}: {status}{where}")

    def callback(job_id: str, status: Any, job: Any, queue_info: Any = None) -> None:
        position = getattr(queue_info, "position", None) if queue_info is not None else None
        show(status.name, position)

    if status_line is not None:
        status_line.start()
    try:
        if not job.info.status.is_final:
            show(job.info.status.name, job.info.queue_position)
        job.wait_for_final_state(timeout=timeout, callback=callback)
    finally:
        if status_line is not None:
            status_line.stop()
    info = api.job(args.job_id)
    show(info.status.name)
    if info.status is JobStatus.DONE:
        counts = _counts(provider, info)
        if counts and not args.json:
            _show_counts(console, counts)
        return 0
    if not args.json:
        why = f": {info.error.message}" if info.error is not None else "."
        _complain(f"job {info.id} ended {info.status.name}{why}")
    return EXIT_FAILED


_COMMANDS: dict[str, Callable[[argparse.Namespace, Console], int]] = {
    "login": _login,
    "backends": _backends,
    "jobs": _jobs,
    "job": _job,
    "result": _result,
    "cancel": _cancel,
    "watch": _watch,
}


# --- the one place errors become a line ---------------------------------------------------


def _complain(error: object) -> None:
    """Print ``error`` as one line on stderr."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    sys.stderr.write(f"openqx: {text}\n")


def run_user_command(args: argparse.Namespace) -> int:
    """Run one user command and return its exit status.

    Returns:
        0 on success; 1 when the server refused the command or could not be reached (or a
        watched job did not end DONE, or a job could not be cancelled); 2 for a bad argument;
        130 after Ctrl-C. Each failure is one line on stderr.
    """
    # Tables fit a terminal; piped output gets room enough to keep rows whole.
    console = Console(width=None if sys.stdout.isatty() else PIPE_WIDTH)
    try:
        return _COMMANDS[args.command](args, console)
    except UsageError as error:
        _complain(error)
        return EXIT_USAGE
    except exc.OpenQXError as error:
        _complain(error)
        return EXIT_FAILED
    except KeyboardInterrupt:
        _complain("interrupted.")
        return EXIT_INTERRUPTED
    except Exception as error:  # the promise is one line, never a traceback
        _complain(f"unexpected {type(error).__name__}: {error}")
        return EXIT_FAILED
