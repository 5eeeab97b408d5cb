"""``openqx serve``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["serve"]


def serve(args: argparse.Namespace) -> int:
    """Run the service in the foreground until interrupted."""
    import uvicorn

    from openqx.cli.main import configure_logging
    from openqx.server.app import create_app
    from openqx.server.settings import Settings

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
        )
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
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=args.log_level.lower(),
        access_log=False,
    )
    return 0
