"""The service of one server process: the parts it is given, their lifecycle, and the rules
that need more than one of them.

``Service`` receives its job store, blob store, executor, device catalog and clock, so a test
can assemble it from in-memory parts; ``Service.from_settings`` builds the defaults (the
database, migrated, behind ``SqlJobStore``; the blob store; the executor) and hands the
service what it opened, to close. ``open`` starts the dispatcher; ``close`` stops it first,
then closes the executor, then everything ``from_settings`` opened (the database last).
"""

from __future__ import annotations

import collections
import contextlib
import enum
import logging
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from openqx.core.clock import SYSTEM_CLOCK, Clock
from openqx.core.errors import InvalidInputError
from openqx.core.ids import new_token
from openqx.core.instances import DEFAULT_INSTANCE
from openqx.core.status import JobStatus
from openqx.devices.catalog import DeviceCatalog
from openqx.devices.catalog_config import CatalogConfig, build_catalog
from openqx.devices.server_config import load_devices_config
from openqx.devices.snapshots import CalibrationSnapshot
from openqx.execution.executors import default_workers, make_executor
from openqx.execution.port import JobExecutor
from openqx.scheduler.calibration import JobCalibration
from openqx.scheduler.concurrency import DeviceConcurrency
from openqx.scheduler.dispatcher import Dispatcher
from openqx.scheduler.early_start import EarlyStart
from openqx.scheduler.identity import claim_identity
from openqx.server.events import JobEvents
from openqx.server.qpy_decoder import GuardedDecoder
from openqx.server.settings import DEFAULT_STOP_TIMEOUT, Settings
from openqx.store.blobs import BlobStore, make_blob_store
from openqx.store.calibrations import CalibrationStore, ImportedSnapshot, SqlCalibrationStore
from openqx.store.database import Database
from openqx.store.inline_blobs import DatabaseBlobStore
from openqx.store.port import JobStore
from openqx.store.records import JobRecord
from openqx.store.replica_changes import JobChange, ReplicaChanges
from openqx.store.sql_store import SqlJobStore

__all__ = [
    "ADMIN_NAME",
    "STOP_TIMEOUT_SECONDS",
    "Service",
    "ServiceStatus",
    "commits_survive_power_loss",
]

logger = logging.getLogger(__name__)

ADMIN_NAME = "admin"
STOP_TIMEOUT_SECONDS = DEFAULT_STOP_TIMEOUT
"""How long ``close`` lets running jobs finish by default before handing them back to the
queue (seconds; ``Settings.stop_timeout``, ``OPENQX_STOP_TIMEOUT``)."""


def commits_survive_power_loss(database: Database) -> bool:
    """Whether a committed transaction of ``database`` survives a power loss: PostgreSQL's
    do (``synchronous_commit`` on); SQLite's, in WAL mode with ``synchronous = NORMAL``
    (``store.database``), survive a crash of the process but not of the machine. A local
    blob store flushes its files to disk exactly when this is true, so that a job row and its
    blobs share one promise (``docs/durability.md``)."""
    return database.dialect != "sqlite"


class ServiceStatus(enum.Enum):
    """Lifecycle of a service."""

    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class Service:
    """Store, blobs, executor, catalog, clock and dispatcher of one server process.

    The service owns the executor it is given (``close`` closes it after the dispatcher has
    stopped) and the callables in ``on_close``; the store, blob store and catalog belong to
    whoever built them.

    Args:
        store: the job store.
        blobs: where payloads and results go.
        executor: where jobs run.
        catalog: the devices.
        settings: limits, lease and poll intervals, admin token, worker slots.
        clock: time for the dispatcher, status streams and queue estimates.
        on_close: called in order after the executor is closed (e.g. ``Database.close``).
        on_open: called with the service once its dispatcher runs (e.g. to start listening
            for other replicas' job changes).
        stop_timeout: seconds of ``clock`` that ``close`` gives running jobs to finish
            (default: ``settings.stop_timeout``).
        catalog_config: the configuration ``catalog`` was built from; worker processes
            rebuild the same catalog from it (``None``: workers use their own catalog).
        calibrations: where imported calibration snapshots are kept (``None``: in memory
            only); ``open`` imports the kept ones into the catalog.
    """

    def __init__(
        self,
        *,
        store: JobStore,
        blobs: BlobStore,
        executor: JobExecutor,
        catalog: DeviceCatalog,
        settings: Settings | None = None,
        clock: Clock = SYSTEM_CLOCK,
        on_close: Sequence[Callable[[], None]] = (),
        on_open: Sequence[Callable[[Service], None]] = (),
        stop_timeout: float | None = None,
        catalog_config: CatalogConfig | None = None,
        calibrations: CalibrationStore | None = None,
    ) -> None:
        self.store = store
        self.catalog_config = catalog_config
        self.calibrations = calibrations
        self.blobs = blobs
        self.executor = executor
        self.catalog = catalog
        self.settings = settings or Settings()
        self.clock = clock
        self.events = JobEvents()
        self.decoder = (
            GuardedDecoder()
            if self.settings.guard_payloads
            else GuardedDecoder(in_process_bytes=sys.maxsize)
        )
        """Decodes users' QPY (header check; large payloads in guarded processes)."""
        self._on_close = list(on_close)
        self._on_open = list(on_open)
        self.stop_timeout = self.settings.stop_timeout if stop_timeout is None else stop_timeout
        self._lifecycle = threading.Lock()
        self.dispatcher = Dispatcher(
            store,
            blobs,
            executor,
            capacity=self.settings.workers or default_workers(),
            lease_seconds=self.settings.lease_seconds,
            poll_seconds=self.settings.poll_seconds,
            on_change=self.events.notify,
            on_recorded=self.events.recorded,
            clock=clock,
            worker_id=self.settings.dispatcher_id,
            time_limit=self.settings.time_limit_for,
            max_attempts=self.settings.max_attempts,
            calibration=JobCalibration(catalog, catalog_config),
            concurrency=DeviceConcurrency.from_catalog(
                catalog,
                self.settings.workers or default_workers(),
                self.settings.device_concurrency,
            ),
        )
        self.status = ServiceStatus.NEW

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> Service:
        """Build the default parts from ``settings``: the database (opened and migrated)
        behind ``SqlJobStore``, the blob store, the executor and the default catalog.

        The service closes the executor and the database when it is closed; if building a
        part fails, what was already opened is closed before the error propagates.

        Args:
            settings: where the data lives and how jobs run.
            clock: for the store's stamps and leases, the dispatcher and the estimates.

        Raises:
            ValueError: settings that cannot work, or a malformed device configuration file
                (``DeviceConfigError``, naming the file and key), checked before anything is
                opened; a device concurrency for a device the catalog does not serve (what
                was opened is closed again).
        """
        settings.check()
        # A malformed device file stops the start before anything is opened.
        config = (
            load_devices_config(settings.devices_config)
            if settings.devices_config
            else CatalogConfig()
        )
        if not settings.db_url or not settings.blob_url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.ExitStack() as undo:
            closers: list[Callable[[], None]] = []
            if settings.dispatcher_id is None:
                # A stable name, held while this server runs: jobs a killed run of it left
                # RUNNING go back to the queue as soon as it restarts.
                try:
                    identity = claim_identity(settings.data_dir)
                except OSError as exc:  # e.g. a read-only data folder beside a remote database
                    logger.warning(
                        "no stable dispatcher name (%s); after a crash this server's jobs "
                        "return to the queue when their leases expire",
                        exc,
                        extra={"action": "claim_identity"},
                    )
                else:
                    undo.callback(identity.close)
                    closers.append(identity.close)
                    settings = settings.with_overrides(dispatcher_id=identity.name)
            database = Database(settings.database_url).open()
            undo.callback(database.close)
            database.upgrade()
            catalog = build_catalog(config, clock=clock)
            blobs = DatabaseBlobStore(
                database,
                make_blob_store(settings.blob_location, fsync=commits_survive_power_loss(database)),
                max_inline_bytes=settings.inline_blob_bytes,
            )
            executor = make_executor(
                settings.executor,
                workers=settings.workers or default_workers(),
                address=settings.dask_address,
            )
            undo.callback(executor.close)
            store = SqlJobStore(database, clock=clock, fairshare_window=settings.fairshare_window)
            # Replicas on one PostgreSQL hear of each other's job changes at once.
            replicas = ReplicaChanges(database) if database.dialect == "postgresql" else None
            service = cls(
                store=store,
                blobs=blobs,
                executor=executor,
                catalog=catalog,
                settings=settings,
                clock=clock,
                on_close=[*([replicas.close] if replicas else []), database.close, *closers],
                on_open=[] if replicas is None else [_listen_to(replicas)],
                catalog_config=config,
                calibrations=SqlCalibrationStore(store),
            )
            undo.pop_all()
        return service

    # --- lifecycle ----------------------------------------------------------------------------
    def open(self) -> None:
        """Create the admin user on a fresh store, then start the dispatcher.

        Raises:
            RuntimeError: the service was opened (or closed) before.
        """
        with self._lifecycle:
            if self.status is not ServiceStatus.NEW:
                raise RuntimeError(f"the service is {self.status.value}; open it only once")
            self._bootstrap_admin()
            self.restore_imported_snapshots()
            self.dispatcher.start()
            for started in self._on_open:
                started(self)
            self.status = ServiceStatus.OPEN

    def close(self) -> None:
        """Stop the dispatcher (running jobs get ``stop_timeout`` seconds to finish; the rest
        go back to the queue, never CANCELLED), close the executor, then what ``on_close``
        names.

        Idempotent and thread-safe; a service that was never opened still releases its parts.
        """
        with self._lifecycle:
            if self.status is ServiceStatus.CLOSED:
                return
            self.status = ServiceStatus.CLOSED
            # An ExitStack so that a part failing to close does not keep the next one open;
            # callbacks run last-in first-out: the executor, then on_close in order.
            with contextlib.ExitStack() as closing:
                for close in reversed(self._on_close):
                    closing.callback(close)
                closing.callback(self.executor.close)
                closing.callback(self.decoder.close)
                self.dispatcher.stop(timeout=self.stop_timeout)
        logger.info("service closed", extra={"action": "close_service"})

    def __enter__(self) -> Service:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- rules that need more than one part ---------------------------------------------------
    def job_changed(self, job_id: str) -> None:
        """A job was changed through the API: wake its streams and the dispatcher."""
        self.events.notify(job_id)
        self.dispatcher.wake()

    def jobs_created(
        self,
        records: Sequence[JobRecord],
        payloads: Mapping[str, bytes] | None = None,
        *,
        early: EarlyStart | None = None,
    ) -> None:
        """Jobs were queued: wake the dispatcher, naming their backends and handing it their
        ``payloads`` by blob key, as stored, so that it does not read them back. Their
        streams are not woken: a new job's id is known only to the submission that made it,
        whose stream has the job as written (a wake-up would make it read the job back for
        nothing). ``early``: the run of the job that started before it was stored
        (``Dispatcher.start_early``), which its claim adopts."""
        self.dispatcher.wake(
            collections.Counter(record.backend for record in records),
            payloads=payloads,
            early=early,
        )

    def replica_changed(self, change: JobChange) -> None:
        """Another replica on the database changed a job: wake its streams here, and the
        dispatcher for a job queued (it may claim it) or a cancel asked (it may run it); the
        dispatcher starts no job early for a while (``Dispatcher.heard_from_replica``)."""
        self.dispatcher.heard_from_replica()
        self.events.notify(change.job_id)
        if change.status is JobStatus.QUEUED or change.cancel_requested:
            self.dispatcher.wake()

    def job_limit(self, backend: str) -> int | None:
        """The per-user active-job limit on ``backend``: database (where configured, None
        being no limit), then settings, then the device default."""
        configured, limit = self.store.configured_job_limit(backend)
        if configured:
            return limit
        if backend in self.settings.job_limits:
            return self.settings.job_limits[backend]
        return self.catalog.get(backend).default_job_limit

    def import_properties(self, backend: str, properties: dict[str, Any]) -> CalibrationSnapshot:
        """Check a ``BackendProperties`` JSON snapshot, add it to ``backend``'s history and
        keep it (``calibrations``), so every process and restart serves it.

        Raises:
            BackendNotFoundError: no such device.
            InvalidInputError: an ideal simulator, or a snapshot dated like another one.
            InvalidPropertiesError: a malformed field (``.field``); nothing is stored.
        """
        device = self.catalog.get(backend)
        snapshot = device.import_properties(properties)
        if self.calibrations is not None:
            self.calibrations.save_snapshot(
                ImportedSnapshot(
                    backend=backend,
                    snapshot_id=snapshot.id,
                    last_update_date=snapshot.last_update_date,
                    properties=snapshot.properties,
                )
            )
        logger.info(
            "calibration snapshot imported",
            extra={"action": "import_snapshot", "backend": backend, "snapshot_id": snapshot.id},
        )
        return snapshot

    def job_snapshot(self, backend: str, snapshot_id: str) -> CalibrationSnapshot:
        """The snapshot ``snapshot_id`` of ``backend`` (a job's calibration); when this
        process does not know it (imported through another replica since this one started),
        the kept snapshots are imported again first.

        Raises:
            BackendNotFoundError: no such device.
            NotFoundError: no such snapshot, even among the kept ones.
        """
        device = self.catalog.get(backend)
        if device.history.get(snapshot_id) is None:
            self.restore_imported_snapshots()
        return device.snapshot(snapshot_id)

    def restore_imported_snapshots(self) -> int:
        """Import the kept snapshots into the catalog (those of devices no longer served, or
        no longer valid for them, are logged and skipped); return how many were imported."""
        if self.calibrations is None:
            return 0
        restored = 0
        for kept in self.calibrations.imported_snapshots():
            if kept.backend not in self.catalog:
                continue
            try:
                self.catalog.get(kept.backend).import_properties(kept.properties)
            except Exception as exc:  # one bad row must not stop the server
                logger.warning(
                    "kept calibration snapshot %s of %s not restored: %s",
                    kept.snapshot_id,
                    kept.backend,
                    exc,
                    extra={"action": "restore_snapshot", "backend": kept.backend},
                )
                continue
            restored += 1
        return restored

    def _bootstrap_admin(self) -> None:
        if self.store.count_users() > 0:
            return
        token = self.settings.admin_token or new_token()
        try:
            self.store.create_user(ADMIN_NAME, token, is_admin=True, instances=[DEFAULT_INSTANCE])
        except InvalidInputError:
            if self.store.count_users() == 0:
                raise
            # Replicas started at once on a fresh database: another one created it first.
            logger.info("admin user created by another server", extra={"action": "bootstrap_admin"})
            return
        logger.info("admin user created", extra={"action": "bootstrap_admin"})
        if not self.settings.admin_token:
            # Printed once, on the first start only: the token is stored hashed.
            print(  # noqa: T201 - the one time the token can be shown
                f"openqx: created user {ADMIN_NAME!r}; its API token (shown only once) is:\n"
                f"  {token}",
                file=sys.stderr,
                flush=True,
            )


def _listen_to(replicas: ReplicaChanges) -> Callable[[Service], None]:
    """Start ``replicas`` for an opened service: other replicas' job changes reach it."""

    def start(service: Service) -> None:
        replicas.start(service.replica_changed)

    return start
