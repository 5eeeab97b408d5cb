"""The uvicorn server that runs the app: its shutdown first ends the service's waits.

Uvicorn stops accepting connections at shutdown, then waits for the responses still open
before the lifespan closes the service. A job's status stream (or ``POST /jobs/wait``) stays
open until its job ends, so without a word they would hold the shutdown for as long as their
jobs run: ``JobEvents.close`` ends them at once (clients reconnect, or poll), and the service
closes with ``stop_timeout`` as configured.
"""

from __future__ import annotations

import socket

import uvicorn

from openqx.server.events import JobEvents

__all__ = ["ServiceServer"]


class ServiceServer(uvicorn.Server):
    """A uvicorn server whose shutdown ends the waits on ``events`` first."""

    def __init__(self, config: uvicorn.Config, events: JobEvents) -> None:
        super().__init__(config)
        self.events = events

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """End every status stream and wait, then shut down as uvicorn does."""
        self.events.close()
        await super().shutdown(sockets=sockets)
