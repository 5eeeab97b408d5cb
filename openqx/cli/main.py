"""The ``openqx`` command: ``serve``, ``demo``, ``admin`` and the user commands (``login``,
``backends``, ``jobs``, ``job``, ``result``, ``cancel``, ``watch``)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import typing
from pathlib import Path

from openqx.cli.admin_parser import add_admin_parser
from openqx.cli.user_parser import USER_COMMANDS, add_user_parsers

__all__ = ["DESCRIPTION", "OneLineErrorParser", "build_parser", "main"]

DESCRIPTION = """\
openqx: a self-hosted quantum computing service and its client.

Run a service with 'openqx serve', try it with 'openqx demo', administer it with
'openqx admin'. Users log in once with 'openqx login --url URL' and then use
'openqx backends', 'openqx jobs', 'openqx job ID', 'openqx result ID',
'openqx cancel ID' and 'openqx watch ID'. 'openqx COMMAND --help' explains each.
"""
"""What ``openqx --help`` shows above the commands (plain text)."""


class OneLineErrorParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr (exit status 2), naming the
    command and pointing at its ``--help``, instead of the usage block and the message."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = OneLineErrorParser(
        prog="openqx",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    # Sub-commands are OneLineErrorParsers too; the builders only need ArgumentParser's API.
    sub = typing.cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", parser_class=OneLineErrorParser),
    )

    serve = sub.add_parser("serve", help="run the service (flags override OPENQX_* variables)")
    serve.add_argument("--host", help="address to listen on (OPENQX_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="TCP port (OPENQX_PORT, default 8000)")
    serve.add_argument("--db", dest="db_url", help="database URL (OPENQX_DB; default SQLite)")
    serve.add_argument("--data-dir", type=Path, help="data folder (OPENQX_DATA_DIR)")
    serve.add_argument("--blobs", dest="blob_url", help="blob store folder or URL (OPENQX_BLOBS)")
    serve.add_argument(
        "--inline-blob-kb",
        help="payloads and results up to this many KiB are kept in the database, larger ones "
        "in the blob store (OPENQX_INLINE_BLOB_KB, default 256; 0: all in the blob store)",
    )
    serve.add_argument(
        "--executor",
        choices=["local", "inline", "dask"],
        help="where jobs run (OPENQX_EXECUTOR, default local worker processes)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        help="local worker processes, 1 or more (OPENQX_WORKERS; default cores - 1, at least 1)",
    )
    serve.add_argument("--dask-address", help="Dask scheduler address (OPENQX_DASK_ADDRESS)")
    serve.add_argument(
        "--job-time-limit",
        help="seconds a job may run before it ends ERROR (OPENQX_JOB_TIME_LIMIT, default 3600; "
        "0 or none: no limit)",
    )
    serve.add_argument(
        "--stop-timeout",
        type=float,
        help="seconds running jobs get to finish on shutdown, 0 or more (OPENQX_STOP_TIMEOUT, "
        "default 5)",
    )
    serve.add_argument(
        "--devices-config",
        type=Path,
        help="TOML file with a [devices] table: served devices and their options "
        "(OPENQX_DEVICES_CONFIG)",
    )
    serve.add_argument(
        "--fairshare-window-days",
        help="days of device usage fair share counts (OPENQX_FAIRSHARE_WINDOW_DAYS, default 28)",
    )
    serve.add_argument(
        "--device-concurrency",
        action="append",
        metavar="NAME=N",
        help="the most jobs device NAME runs at once; repeatable (OPENQX_DEVICE_CONCURRENCY="
        "NAME=N,...; default: half the workers for emulated devices, all for simulators)",
    )
    serve.add_argument("--log-level", default="info", help="log level (default info)")

    demo = sub.add_parser("demo", help="start an embedded service and run a GHZ circuit")
    demo.add_argument("--qubits", type=int, default=5, help="GHZ width (default 5)")
    demo.add_argument("--shots", type=int, default=2000, help="shots per job (default 2000)")
    demo.add_argument(
        "--device", default="fake_manila", help="emulated device (default fake_manila)"
    )
    demo.add_argument("--executor", default="local", choices=["local", "inline"])

    add_admin_parser(sub)
    add_user_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``openqx`` script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(parser, args)
    except BrokenPipeError:
        # The reader went away (``openqx admin units | head -1``): stop quietly, as ``cat``
        # does, with stdout pointed at /dev/null so that the exit's flush raises nothing.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.version:
        from openqx import __version__

        print(f"openqx {__version__}")
        return 0
    if args.command == "serve":
        from openqx.cli.serve import serve

        return serve(args)
    if args.command == "demo":
        from openqx.cli.demo import demo

        return demo(args)
    if args.command in USER_COMMANDS:
        from openqx.client.user_cli import run_user_command

        return run_user_command(args)
    if args.command == "admin":
        from openqx.cli.admin import admin

        return admin(args)
    parser.print_help()
    return 2


def configure_logging(level: str) -> None:
    """Plain log lines on stderr."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


if __name__ == "__main__":
    sys.exit(main())
