"""The FastAPI application, assembled in one readable function."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from openqx import __version__
from openqx.core.wire import API_PREFIX
from openqx.server.errors import CatchAll, install_error_handlers
from openqx.server.limits import BodySizeLimit
from openqx.server.openapi import install_api_docs
from openqx.server.routes import (
    account,
    admin,
    backends,
    job_batches,
    jobs,
    runtime,
    schedule,
)
from openqx.server.service import Service
from openqx.server.throttle import AuthThrottle

__all__ = ["create_app"]


def create_app(service: Service) -> FastAPI:
    """Build the app around ``service``: the lifespan opens it (admin user, dispatcher) and
    closes it on shutdown (dispatcher, executor, then what the service was handed to close).

    Args:
        service: a new, not yet opened service (``Service.from_settings`` or assembled).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await run_in_threadpool(service.open)
            yield
        finally:
            await run_in_threadpool(service.close)

    app = FastAPI(
        title="openqx",
        version=__version__,
        description="Self-hosted quantum computing service with an IBM-Quantum-style API.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    install_error_handlers(app)
    # A request is matched against the routes in order: the job routes, which every job
    # calls, come first (matching the routes before them cost ~60 µs a request here).
    for module in (job_batches, jobs, backends, account, runtime, schedule, admin):
        app.include_router(module.router, prefix=API_PREFIX)
    install_api_docs(app)  # the completed schema; /docs and /redoc without a CDN
    # The dashboard (openqx.web) sits above the API: its pages call these routes' functions.
    from openqx import web

    web.install(app, service)
    app.add_middleware(BodySizeLimit, max_bytes=service.settings.max_payload_bytes)
    app.add_middleware(AuthThrottle, clock=service.clock)
    app.add_middleware(CatchAll)  # outermost of ours: an unexpected error is a JSON 500
    return app
