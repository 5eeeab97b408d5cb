"""An openqx server inside this Python process: ``OpenQX.local()`` and ``openqx demo``.

It listens on a free loopback port, keeps its SQLite database and blobs in a temporary
folder (unless given one), and stops when the process exits or ``stop()`` is called.
"""

from __future__ import annotations

import atexit
import shutil
import socket
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from openqx.core.ids import new_token
from openqx.server.app import create_app
from openqx.server.events import JobEvents
from openqx.server.service import Service
from openqx.server.settings import Settings
from openqx.server.uvicorn_server import ServiceServer

if TYPE_CHECKING:
    from openqx.client.provider import AccountProvider

__all__ = ["EmbeddedServer", "start_local"]

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
"""How long ``stop`` waits for uvicorn's shutdown before closing the service itself."""
PORT_ATTEMPTS = 3


def _free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _NotifyingServer(ServiceServer):
    """The service's uvicorn server, setting ``ready`` once its start-up is over, listening
    or not."""

    def __init__(self, config: uvicorn.Config, events: JobEvents, ready: threading.Event) -> None:
        super().__init__(config, events)
        self.ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()

    def run_then_notify(self) -> None:
        """``run``, and set ``ready`` however it ends (start-up may never be reached)."""
        try:
            self.run()
        finally:
            self.ready.set()


class EmbeddedServer:
    """A uvicorn server in a background thread."""

    def __init__(
        self,
        *,
        data_dir: str | Path | None = None,
        executor: str = "local",
        db_url: str | None = None,
        token: str | None = None,
        workers: int | None = None,
        **settings: Any,
    ) -> None:
        folder = data_dir or tempfile.mkdtemp(prefix="openqx-")
        self._tmp = None if data_dir else str(folder)
        self.token = token or new_token()
        self.settings = Settings(
            host="127.0.0.1",
            data_dir=Path(folder),
            db_url=db_url,
            executor=executor,
            workers=workers,
            admin_token=self.token,
            **{"guard_payloads": False, **settings},
        )
        self.settings.check()
        self._server: uvicorn.Server | None = None
        self._service: Service | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def service(self) -> Service:
        """The running service (tests and tools look inside it).

        Raises:
            RuntimeError: the server is not running.
        """
        if self._service is None:
            raise RuntimeError("the embedded server is not running")
        return self._service

    def start(self) -> EmbeddedServer:
        """Start serving; returns once the server answers (or raises RuntimeError)."""
        for _attempt in range(PORT_ATTEMPTS):
            if self._try_start(_free_port()):
                atexit.register(self.stop)
                return self
        self.stop()
        raise RuntimeError("the embedded openqx server did not start; see the log above")

    def _try_start(self, port: int) -> bool:
        # uvicorn binds the port itself: handing it a pre-bound socket (``sockets=``) made
        # every request wait ~40 ms for a delayed ACK on this platform.
        self.url = f"http://127.0.0.1:{port}"
        # A fresh service per attempt: a failed attempt's lifespan has closed its own.
        service = self._service = Service.from_settings(self.settings)
        config = uvicorn.Config(
            create_app(service),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            access_log=False,
        )
        ready = threading.Event()
        server = self._server = _NotifyingServer(config, service.events, ready)
        self._thread = threading.Thread(
            target=server.run_then_notify, name="openqx-embedded", daemon=True
        )
        self._thread.start()
        ready.wait(START_TIMEOUT_SECONDS)
        if server.started:
            return True
        server.should_exit = True
        self._thread.join(timeout=STOP_TIMEOUT_SECONDS)
        service.close()
        return False

    def stop(self) -> None:
        """Stop the server (its lifespan closes the service: dispatcher, executor, database)
        and remove the temporary folder. Runs at interpreter exit too, Ctrl-C included."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT_SECONDS)
            self._thread = None
        if self._service is not None:
            # Normally a no-op (the lifespan closed it); waits for a lifespan still closing.
            self._service.close()
            self._service = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_local(**kwargs: Any) -> AccountProvider:
    """Start an embedded server and return a provider connected to it as its admin.

    Keyword arguments go to ``EmbeddedServer`` (``data_dir``, ``executor``, ``db_url``, ...).
    The server lives as long as the process, or until ``provider.embedded_server.stop()``.
    """
    from openqx.client.account import OpenQX

    server = EmbeddedServer(**kwargs).start()
    provider = OpenQX.enable_account(server.token, url=server.url)
    provider.embedded_server = server  # type: ignore[attr-defined]
    return provider
