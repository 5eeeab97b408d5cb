"""`openqx serve` as a subprocess for the crash tests: start it, wait until it answers, stop
it with SIGTERM or kill it with SIGKILL, and keep what it printed (in a file while it runs:
a pipe that nobody reads would fill and block a server that logs much, at ``--log-level
info`` for one)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

__all__ = ["ServeProcess", "free_port"]

START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 60.0


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServeProcess:
    """One run of `openqx serve` on ``data_dir`` (and ``db_url`` if given).

    Args:
        data_dir: the data folder (its dispatcher name survives restarts).
        port: TCP port.
        token: the admin token.
        db_url: a database URL (default: SQLite in ``data_dir``).
        env: extra variables (``OPENQX_*``; ``OMP_NUM_THREADS`` over the default 1).
        args: extra `openqx serve` arguments (a later flag wins, e.g. ``--executor dask``).
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        token: str,
        *,
        db_url: str | None = None,
        env: dict[str, str] | None = None,
        args: Sequence[str] = (),
    ) -> None:
        self.url = f"http://127.0.0.1:{port}"
        command = [
            sys.executable, "-m", "openqx.cli.main", "serve", "--port", str(port),
            "--data-dir", str(data_dir), "--executor", "local", "--log-level", "warning",
        ]  # fmt: skip
        if db_url:
            command += ["--db", db_url]
        command += list(args)
        environ = {**os.environ, "OPENQX_ADMIN_TOKEN": token, "OMP_NUM_THREADS": "1", **(env or {})}
        self.started = time.monotonic()
        self._printed = tempfile.TemporaryFile("w+", errors="replace")
        self.process = subprocess.Popen(
            command, env=environ, stdout=self._printed, stderr=subprocess.STDOUT, text=True
        )
        self.output = ""
        """What the server printed, as of its end (``stop`` or ``kill``)."""

    def wait_answering(self) -> float:
        """Poll until the server answers (it is another process); return ``monotonic()``."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{self.url}/v1/version", timeout=1).status_code == 200:
                    return time.monotonic()
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"openqx serve did not start:\n{self.output}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the server (its workers follow it through their lifeline)."""
        self.process.kill()
        self.process.wait()
        self._read_printed()

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it; kill it if it does not exit in time."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
        else:
            self._read_printed()

    def _read_printed(self) -> None:
        self._printed.seek(0)
        self.output = self._printed.read()
