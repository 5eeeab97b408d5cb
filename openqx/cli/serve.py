"""``openqx serve``."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Callable, Mapping
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
    """Run the service in the foreground until interrupted."""
    import uvicorn

    from openqx.cli.main import configure_logging
    from openqx.server.app import create_app
    from openqx.server.service import Service
    from openqx.server.uvicorn_server import ServiceServer

    configure_logging(args.log_level)
    try:
        settings = settings_from(args)
    except ValueError as exc:
        print(f"openqx serve: {exc}", file=sys.stderr)
        return 2
    print(
        f"openqx: serving on http://{settings.host}:{settings.port} "
        f"(database {settings.database_url.split('@')[-1]}, executor {settings.executor}); "
        f"API schema at /openapi.json",
        file=sys.stderr,
        flush=True,
    )
    try:
        service = Service.from_settings(settings)
    except ValueError as exc:  # settings the catalog refuses, e.g. an unknown device's limit
        print(f"openqx serve: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a database or executor that cannot be reached: say so plainly
        logging.getLogger(__name__).debug("start-up failed", exc_info=exc)
        print(f"openqx serve: cannot start the service: {exc}", file=sys.stderr)
        return 1
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
