"""``openqx serve``."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

__all__ = ["serve"]


def serve(args: argparse.Namespace) -> int:
    """Run the service in the foreground until interrupted."""
    import uvicorn

    from openqx.cli.main import configure_logging
    from openqx.server.app import create_app
    from openqx.server.service import Service
    from openqx.server.settings import Settings, parse_time_limit

    configure_logging(args.log_level)
    try:
        settings = Settings.from_env().with_overrides(
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
        if getattr(args, "job_time_limit", None) is not None:
            limit = parse_time_limit(args.job_time_limit)
            settings = dataclasses.replace(settings, job_time_limit=limit)
        settings.check()
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
    except Exception as exc:  # a database or executor that cannot be reached: say so plainly
        logging.getLogger(__name__).debug("start-up failed", exc_info=exc)
        print(f"openqx serve: cannot start the service: {exc}", file=sys.stderr)
        return 1
    try:
        # uvicorn turns SIGINT/SIGTERM into a graceful shutdown, whose lifespan closes the
        # service; the ``finally`` closes it too when uvicorn never got as far.
        uvicorn.run(
            create_app(service),
            host=settings.host,
            port=settings.port,
            log_level=args.log_level.lower(),
            access_log=False,
        )
    finally:
        service.close()
    return 0
