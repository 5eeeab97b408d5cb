"""``openqx serve`` in a process of its own, for the benchmarks that measure it as the issue did
(the clients then do not share the server's interpreter)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.e2e.serve_process import ServeProcess, free_port

__all__ = ["serve_process"]

TOKEN = "bench-admin-token-0123456789"


@contextlib.contextmanager
def serve_process(
    *, workers: int | None = None, env: dict[str, str] | None = None
) -> Iterator[tuple[str, str]]:
    """Run ``openqx serve`` (SQLite in a fresh folder, local executor, Aer with every core as
    in-process Aer has); yield its URL and admin token. ``env``: extra ``OPENQX_*`` variables."""
    threads = {"OMP_NUM_THREADS": str(os.cpu_count() or 1)}
    server = ServeProcess(
        Path(tempfile.mkdtemp(prefix="openqx-bench-")),
        free_port(),
        TOKEN,
        env={**threads, **(env or {})},
        args=["--workers", str(workers)] if workers else [],
    )
    try:
        server.wait_answering()
        yield server.url, TOKEN
    finally:
        server.stop()
