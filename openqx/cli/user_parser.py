"""The arguments of the user commands (``login``, ``backends``, ``jobs``, ``job``, ``result``,
``cancel``, ``watch``), kept apart from their code (``openqx.client.user_cli``) so that
building the ``openqx`` parser imports neither the client nor the server."""

from __future__ import annotations

import argparse

__all__ = ["USER_COMMANDS", "add_user_parsers"]

USER_COMMANDS = ("login", "backends", "jobs", "job", "result", "cancel", "watch")
"""The sub-commands ``openqx.client.user_cli.run_user_command`` handles."""

_STATUSES = "INITIALIZING, VALIDATING, QUEUED, RUNNING, DONE, CANCELLED, ERROR"


def _connection(parser: argparse.ArgumentParser) -> None:
    """The account options every user command shares."""
    parser.add_argument("--url", help="service URL (default OPENQX_URL or the saved account)")
    parser.add_argument("--token", help="API token (default OPENQX_TOKEN or the saved account)")
    parser.add_argument(
        "--instance", help="hub/group/project to act as (default: the account's default)"
    )


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def add_user_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the user commands to the ``openqx`` sub-parsers."""
    login = sub.add_parser(
        "login",
        help="check a token against a service and save the account",
        description="Check the token against the service, then save URL, token and instance "
        "for the other commands (and for OpenQX.load_account()). Without --token the token "
        "is read from OPENQX_TOKEN or asked for without echo.",
    )
    login.add_argument("--url", help="service URL (default OPENQX_URL, else http://127.0.0.1:8000)")
    login.add_argument("--token", help="API token (default OPENQX_TOKEN, else asked for)")
    login.add_argument("--instance", help="hub/group/project to use by default")
    login.add_argument(
        "--no-verify", action="store_true", help="do not check the server's TLS certificate"
    )
    _json_flag(login)

    backends = sub.add_parser(
        "backends",
        help="list backends: qubits, status, pending jobs, median T1, two-qubit error",
        description="List the backends you may use with their status, pending jobs, median "
        "T1 and median two-qubit gate error (devices only).",
    )
    _connection(backends)
    kind = backends.add_mutually_exclusive_group()
    kind.add_argument("--devices", action="store_true", help="only emulated devices")
    kind.add_argument("--simulators", action="store_true", help="only simulators")
    backends.add_argument("--min-qubits", default=None, help="at least this many qubits")
    _json_flag(backends)

    jobs = sub.add_parser(
        "jobs",
        help="list your jobs, newest first (the filters of backend.jobs())",
        description="List jobs with the filters of backend.jobs(). Times are ISO 8601 "
        "(2026-01-31 or 2026-01-31T12:00, local time unless an offset is given).",
    )
    _connection(jobs)
    jobs.add_argument("--limit", default="10", help="how many jobs (default 10; 0: all)")
    jobs.add_argument("--skip", default="0", help="jobs to skip first (default 0)")
    jobs.add_argument("--backend", help="only jobs of this backend")
    jobs.add_argument(
        "--status", action="append", help=f"only jobs with this status (repeatable): {_STATUSES}"
    )
    jobs.add_argument("--name", help="regular expression matched in the job name")
    jobs.add_argument("--tag", action="append", help="only jobs with this tag (repeatable)")
    jobs.add_argument(
        "--all-tags", action="store_true", help="jobs need every --tag (default: any)"
    )
    jobs.add_argument("--since", help="created at or after this time")
    jobs.add_argument("--until", help="created at or before this time")
    jobs.add_argument("--experiment-id", help="only jobs of this experiment")
    jobs.add_argument("--oldest-first", action="store_true", help="oldest first")
    _json_flag(jobs)

    job = sub.add_parser(
        "job",
        help="show one job: status, queue position and estimate, time per step, histogram",
    )
    _connection(job)
    job.add_argument("job_id", metavar="ID", help="the job id")
    _json_flag(job)

    result = sub.add_parser("result", help="print a finished job's counts (--json: the result)")
    _connection(result)
    result.add_argument("job_id", metavar="ID", help="the job id")
    _json_flag(result)

    cancel = sub.add_parser("cancel", help="cancel a job that has not finished")
    _connection(cancel)
    cancel.add_argument("job_id", metavar="ID", help="the job id")
    _json_flag(cancel)

    watch = sub.add_parser(
        "watch",
        help="follow a job live until it ends (exit 0 only when it ends DONE)",
    )
    _connection(watch)
    watch.add_argument("job_id", metavar="ID", help="the job id")
    watch.add_argument(
        "--timeout", default=None, help="give up after this many seconds (default: never)"
    )
    _json_flag(watch)
