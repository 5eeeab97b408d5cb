"""The service's long-lived parts, opened in the app lifespan and closed there."""

from __future__ import annotations

import enum
import logging
import sys
from dataclasses import dataclass, field

from openqx.core.ids import new_token
from openqx.devices.catalog import DeviceCatalog, default_catalog
from openqx.execution.executors import default_workers, make_executor
from openqx.execution.port import JobExecutor
from openqx.scheduler.dispatcher import Dispatcher
from openqx.server.events import JobEvents
from openqx.server.settings import Settings
from openqx.store.blobs import BlobStore, make_blob_store
from openqx.store.database import Database
from openqx.store.sql_store import SqlJobStore

__all__ = ["ADMIN_NAME", "DEFAULT_INSTANCE", "ServiceState", "StateStatus"]

logger = logging.getLogger(__name__)

ADMIN_NAME = "admin"
DEFAULT_INSTANCE = "openqx/main/default"


class StateStatus(enum.Enum):
    """Lifecycle of the service state."""

    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


@dataclass
class ServiceState:
    """Database, store, blobs, catalog, executor and dispatcher of one server process."""

    settings: Settings
    catalog: DeviceCatalog = field(default_factory=default_catalog)
    events: JobEvents = field(default_factory=JobEvents)
    status: StateStatus = StateStatus.NEW

    def open(self) -> None:
        """Migrate the database, start the executor and the dispatcher, bootstrap the admin."""
        if self.status is not StateStatus.NEW:
            raise RuntimeError(f"service state is {self.status.value}; open it only once")
        settings = self.settings
        if not settings.db_url or not settings.blob_url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.database = Database(settings.database_url)
        self.database.open()
        self.database.upgrade()
        self.store = SqlJobStore(self.database)
        self.blobs: BlobStore = make_blob_store(settings.blob_location)
        workers = settings.workers or default_workers()
        self.executor: JobExecutor = make_executor(
            settings.executor, workers=workers, address=settings.dask_address
        )
        self.dispatcher = Dispatcher(
            self.store,
            self.blobs,
            self.executor,
            capacity=workers,
            lease_seconds=settings.lease_seconds,
            poll_seconds=settings.poll_seconds,
            on_change=self.events.notify,
        )
        self._bootstrap_admin()
        self.dispatcher.start()
        self.status = StateStatus.OPEN

    def close(self) -> None:
        """Stop the dispatcher and executor, dispose of the engine."""
        if self.status is not StateStatus.OPEN:
            self.status = StateStatus.CLOSED
            return
        self.dispatcher.stop(timeout=5.0)
        self.executor.close()
        self.database.close()
        self.status = StateStatus.CLOSED

    def job_changed(self, job_id: str) -> None:
        """A job was created or changed through the API: wake streams and the dispatcher."""
        self.events.notify(job_id)
        self.dispatcher.wake()

    def job_limit(self, backend: str) -> int | None:
        """The per-user active-job limit on ``backend``: database, then settings, then the
        device default."""
        configured = self.store.backend_job_limit(backend)
        if configured is not None:
            return configured
        if backend in self.settings.job_limits:
            return self.settings.job_limits[backend]
        return self.catalog.get(backend).default_job_limit

    def _bootstrap_admin(self) -> None:
        if self.store.count_users() > 0:
            return
        token = self.settings.admin_token or new_token()
        self.store.create_user(ADMIN_NAME, token, is_admin=True, instances=[DEFAULT_INSTANCE])
        logger.info("admin user created", extra={"action": "bootstrap_admin"})
        if not self.settings.admin_token:
            # Printed once, on the first start only: the token is stored hashed.
            print(  # noqa: T201 - the one time the token can be shown
                f"openqx: created user {ADMIN_NAME!r}; its API token (shown only once) is:\n"
                f"  {token}",
                file=sys.stderr,
                flush=True,
            )
