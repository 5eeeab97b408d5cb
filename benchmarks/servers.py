"""``openqx serve`` in a process of its own, for the benchmarks that measure it as the issue did
(the clients then do not share the server's interpreter)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

__all__ = ["serve_process"]

START_TIMEOUT_S = 120.0


@contextlib.contextmanager
def serve_process(
    *, workers: int | None = None, env: dict[str, str] | None = None
) -> Iterator[tuple[str, str]]:
    """Run ``openqx serve`` (SQLite in a fresh folder, local executor); yield its URL and admin
    token. ``env``: extra ``OPENQX_*`` variables."""
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = "bench-admin-token-0123456789"
    folder = tempfile.mkdtemp(prefix="openqx-bench-")
    command = [sys.executable, "-m", "openqx.cli.main", "serve", "--port", str(port)]
    command += ["--data-dir", folder, "--executor", "local", "--log-level", "warning"]
    if workers:
        command += ["--workers", str(workers)]
    environ = dict(os.environ, OPENQX_ADMIN_TOKEN=token, **(env or {}))
    process = subprocess.Popen(command, env=environ)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/v1/version", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("openqx serve did not start")
            time.sleep(0.1)
        yield url, token
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
