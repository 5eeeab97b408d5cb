"""The dashboard: server-rendered pages (Jinja2, htmx, Chart.js served from ``static/``).

``install(app, service)`` adds the pages and the static files to the API's FastAPI app. Pages
read and change data only through the API's route functions and ``server.permissions``; see
``docs/dashboard.md``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from openqx.server.service import Service
from openqx.web import auth_pages, device_pages, instance_pages, job_pages
from openqx.web.sessions import SessionStore

__all__ = ["STATIC_DIR", "install"]

STATIC_DIR = Path(__file__).with_name("static")


def install(app: FastAPI, service: Service) -> None:
    """Serve the dashboard from ``app``: ``/`` (→ ``/jobs``), ``/signin``, ``/jobs``,
    ``/devices``, ``/instances`` and ``/static``; sessions expire on ``service.clock``."""
    app.state.web_sessions = SessionStore(service.clock)
    for module in (auth_pages, job_pages, device_pages, instance_pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
