"""``openqx serve`` in a process of its own, for the benchmarks that measure it as the issue did
(the clients then do not share the server's interpreter), and the data folder benchmark
servers keep their database and blobs in.

The data folder is a fresh one beside ``openqx serve``'s default (``~/.local/share/openqx``),
removed afterwards, rather than under ``/tmp``: on this project's machines a folder or file
created under ``/tmp`` costs about 0.8 ms against 0.03 ms anywhere else on the same disk
(measured: 100 ``mkdir`` in 79 ms under ``/tmp``, 2.6 ms under ``/var/tmp`` and ``~``), which
would time the sandbox's ``/tmp`` rather than openqx (each job writes two files in a folder of
its own)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from openqx.server.settings import default_data_dir
from tests.e2e.serve_process import ServeProcess, free_port

__all__ = ["bench_data_dir", "serve_process", "start_server"]

TOKEN = "bench-admin-token-0123456789"


@contextlib.contextmanager
def bench_data_dir() -> Iterator[Path]:
    """A fresh folder beside the default data folder of ``openqx serve``, removed after."""
    parent = default_data_dir().parent
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="openqx-bench-", dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def start_server(
    folder: Path, *, env: dict[str, str] | None = None, args: list[str] | None = None
) -> ServeProcess:
    """Start ``openqx serve`` on ``folder`` (SQLite, local executor, Aer with every core as
    in-process Aer has), not yet waited for; ``env``: extra variables, ``args``: extra flags."""
    threads = {"OMP_NUM_THREADS": str(os.cpu_count() or 1)}
    return ServeProcess(folder, free_port(), TOKEN, env={**threads, **(env or {})}, args=args or [])


@contextlib.contextmanager
def serve_process(
    *, workers: int | None = None, env: dict[str, str] | None = None
) -> Iterator[tuple[str, str]]:
    """Run ``openqx serve`` (SQLite in a fresh folder, local executor, Aer with every core as
    in-process Aer has); yield its URL and admin token. ``env``: extra ``OPENQX_*`` variables."""
    with bench_data_dir() as folder:
        server = start_server(folder, env=env, args=["--workers", str(workers)] if workers else [])
        try:
            server.wait_answering()
            yield server.url, TOKEN
        finally:
            server.stop()
