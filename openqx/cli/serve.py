"""``openqx serve``."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from openqx.server.settings import Settings

__all__ = ["serve", "settings_from"]

_T = TypeVar("_T")


def _flag(flag: str, parse: Callable[[str], _T], value: str) -> _T:
    """``parse(value)``, its ``ValueError`` naming the flag."""
    try:
        return parse(value)
    except ValueError as exc:
        raise ValueError(f"{flag}: {exc}") from None


def settings_from(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of ``openqx serve``: the ``OPENQX_*`` variables of ``environ`` (default
    ``os.environ``), the flags in ``args`` over them, checked.

    ``--device-concurrency`` flags add to the variable's devices (a flag wins for its device).

    Raises:
        ValueError: a bad value, naming the flag or variable.
    """
    from openqx.server.settings import (
        Settings,
        parse_device_concurrency,
        parse_inline_blob_kb,
        parse_time_limit,
        parse_window_days,
    )

    settings = Settings.from_env(environ).with_overrides(
        host=args.host,
        port=args.port,
        db_url=args.db_url,
        data_dir=args.data_dir,
        blob_url=args.blob_url,
        executor=args.executor,
        workers=args.workers,
        dask_address=args.dask_address,
        stop_timeout=getattr(args, "stop_timeout", None),
        devices_config=getattr(args, "devices_config", None),
    )
    if getattr(args, "inline_blob_kb", None) is not None:
        inline = _flag("--inline-blob-kb", parse_inline_blob_kb, args.inline_blob_kb)
        settings = dataclasses.replace(settings, inline_blob_bytes=inline)
    if getattr(args, "job_time_limit", None) is not None:
        limit = parse_time_limit(args.job_time_limit)
        settings = dataclasses.replace(settings, job_time_limit=limit)
    if getattr(args, "fairshare_window_days", None) is not None:
        days = _flag("--fairshare-window-days", parse_window_days, args.fairshare_window_days)
        settings = dataclasses.replace(settings, fairshare_window_days=days)
    if getattr(args, "device_concurrency", None):
        given = ",".join(args.device_concurrency)
        flags = _flag("--device-concurrency", parse_device_concurrency, given)
        merged = {**settings.device_concurrency, **flags}
        settings = dataclasses.replace(settings, device_concurrency=merged)
    settings.check()
    return settings


def serve(args: argparse.Namespace) -> int:
    """Run the service in the foreground until interrupted.

    Returns:
        0 after a shutdown; 2 for settings that cannot work, 1 when the service cannot
        start (e.g. a database that cannot be reached). Either failure is one line on
        stderr, and nothing else is written before it: the settings are checked first, and
        the log lines of a start that fails are dropped (replayed at ``--log-level debug``).
    """
    import uvicorn

    from openqx.cli.main import configure_logging
    from openqx.server.app import create_app
    from openqx.server.service import Service
    from openqx.server.uvicorn_server import ServiceServer

    configure_logging(args.log_level)
    try:
        settings = settings_from(args)
    except ValueError as exc:
        _complain(exc)
        return 2
    with _start_up_logs() as started:
        try:
            service = Service.from_settings(settings)
        except ValueError as exc:  # settings the catalog refuses, e.g. a malformed devices file
            _complain(exc)
            return 2
        except Exception as exc:  # a database or executor that cannot be reached: say so plainly
            logging.getLogger(__name__).debug("start-up failed", exc_info=exc)
            _complain(f"cannot start the service: {exc}")
            return 1
        started()
    print(
        f"openqx: serving on http://{settings.host}:{settings.port} "
        f"(database {settings.database_url.split('@')[-1]}, executor {settings.executor}); "
        f"API schema at /openapi.json",
        file=sys.stderr,
        flush=True,
    )
    try:
        # uvicorn turns SIGINT/SIGTERM into a graceful shutdown, which ends the status
        # streams, then whose lifespan closes the service; the ``finally`` closes it too
        # when uvicorn never got as far.
        config = uvicorn.Config(
            create_app(service),
            host=settings.host,
            port=settings.port,
            log_level=args.log_level.lower(),
            access_log=False,
        )
        ServiceServer(config, service.events).run()
    finally:
        service.close()
    return 0


def _complain(error: object) -> None:
    """Print ``error`` as one line on stderr (SQLAlchemy's link to its error pages left out)."""
    lines = (line.strip() for line in str(error).splitlines())
    text = " ".join(line for line in lines if line and not line.startswith("(Background on"))
    print(f"openqx serve: {text}", file=sys.stderr, flush=True)


class _HeldRecords(logging.Handler):
    """Keeps the records it is given, to be handled later or dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _start_up_logs() -> Iterator[Callable[[], None]]:
    """Hold what is logged while the service starts (e.g. the migrations' lines): written
    to the usual handlers once the start succeeded (the caller calls the yielded function),
    dropped when it fails (its one-line error says why), unless the log level is ``DEBUG``."""
    root = logging.getLogger()
    handlers = root.handlers[:]
    held = _HeldRecords()
    succeeded = False

    def started() -> None:
        nonlocal succeeded
        succeeded = True

    root.handlers = [held]
    try:
        yield started
    finally:
        root.handlers = handlers
        if succeeded or root.getEffectiveLevel() <= logging.DEBUG:
            for record in held.records:
                for handler in handlers:
                    if record.levelno >= handler.level:
                        handler.handle(record)
