"""Server settings: one typed object, read from the environment once at start-up."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from openqx.core.fairshare import DEFAULT_WINDOW_DAYS
from openqx.execution.executors import EXECUTOR_KINDS
from openqx.scheduler import concurrency
from openqx.scheduler.dispatcher import DEFAULT_MAX_ATTEMPTS
from openqx.store.inline_blobs import DEFAULT_MAX_INLINE_BYTES

__all__ = [
    "DEFAULT_JOB_TIME_LIMIT",
    "DEFAULT_STOP_TIMEOUT",
    "EXECUTOR_KINDS",
    "MAX_WINDOW_DAYS",
    "Settings",
    "check_database_url",
    "check_window_days",
    "default_data_dir",
    "parse_device_concurrency",
    "parse_window_days",
    "parse_time_limit",
    "parse_time_limits",
]

DEFAULT_JOB_TIME_LIMIT = 3600.0
"""A job's time limit when none is configured (seconds): an hour, far above any emulated
device job, low enough that a never-ending circuit frees its worker the same day."""
DEFAULT_STOP_TIMEOUT = 5.0
"""Seconds a stopping server lets running jobs finish when none is configured."""
MAX_WINDOW_DAYS = 3650.0
"""The longest fair-share window accepted (days): ten years, far past any useful memory."""


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/openqx`` or ``~/.local/share/openqx``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "openqx"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything ``openqx serve`` can be told (flags, or ``OPENQX_*`` environment variables)."""

    host: str = "127.0.0.1"
    """Address to listen on (``OPENQX_HOST``)."""
    port: int = 8000
    """TCP port (``OPENQX_PORT``)."""
    data_dir: Path = field(default_factory=default_data_dir)
    """Folder for the default SQLite database and blob store (``OPENQX_DATA_DIR``)."""
    db_url: str | None = None
    """SQLAlchemy URL (``OPENQX_DB``); default SQLite in ``data_dir``. PostgreSQL:
    ``postgresql+psycopg://user@host:port/db``."""
    blob_url: str | None = None
    """Blob store location (``OPENQX_BLOBS``): a folder or an fsspec URL; default
    ``data_dir/blobs``."""
    inline_blob_bytes: int = DEFAULT_MAX_INLINE_BYTES
    """Payloads and results up to this size are kept in the database, larger ones in the blob
    store (``OPENQX_INLINE_BLOB_KB``, ``--inline-blob-kb``; 0: every blob in the blob
    store)."""
    executor: str = "local"
    """Where jobs run (``OPENQX_EXECUTOR``): ``local`` (worker processes on this machine),
    ``inline`` (threads in the server process), ``dask`` (a Dask cluster)."""
    workers: int | None = None
    """Worker processes for the local executor (``OPENQX_WORKERS``); default cores − 1, ≥ 1."""
    dask_address: str | None = None
    """Dask scheduler address for the dask executor (``OPENQX_DASK_ADDRESS``)."""
    admin_token: str | None = None
    """Token of the admin user created on first start (``OPENQX_ADMIN_TOKEN``); random and
    printed once when unset."""
    max_payload_bytes: int = 64 * 1024 * 1024
    """Largest accepted request body (``OPENQX_MAX_PAYLOAD_MB``)."""
    lease_seconds: float = 30.0
    """How long a claimed job stays leased without a heartbeat before another replica may
    requeue it (``OPENQX_LEASE_SECONDS``); renewed every third of it. A restarted server
    requeues its own jobs at once, without waiting for this."""
    poll_seconds: float = 0.5
    """Scheduler wake-up interval when nothing signals it (seconds)."""
    job_limits: Mapping[str, int] = field(default_factory=dict)
    """Default per-user active-job limits by backend (``OPENQX_JOB_LIMITS=name=N,...``)."""
    job_time_limit: float | None = DEFAULT_JOB_TIME_LIMIT
    """Seconds a job may run before it is stopped and ends ERROR (``OPENQX_JOB_TIME_LIMIT``,
    ``--job-time-limit``; 0 or ``none``: no limit)."""
    job_time_limits: Mapping[str, float | None] = field(default_factory=dict)
    """Time limits of particular backends, over ``job_time_limit``
    (``OPENQX_JOB_TIME_LIMITS=name=seconds,...``)."""
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    """Starts a job gets when its worker or server dies under it (``OPENQX_JOB_MAX_ATTEMPTS``;
    1: no retry)."""
    stop_timeout: float = DEFAULT_STOP_TIMEOUT
    """Seconds a stopping server lets running jobs finish before handing them back to the
    queue (``OPENQX_STOP_TIMEOUT``)."""
    dispatcher_id: str | None = None
    """The name this server's dispatcher takes leases under (``OPENQX_DISPATCHER_ID``); must
    differ between live replicas. Default: a name kept in ``data_dir`` and locked while the
    server runs, so a restarted server requeues its own jobs at once."""
    devices_config: Path | None = None
    """TOML file whose ``[devices]`` table chooses the served devices and their options
    (``OPENQX_DEVICES_CONFIG``, ``--devices-config``; ``docs/devices.md``); default: every
    simulator and fake-provider device, daily drift, installed entry points."""
    fairshare_window_days: float = DEFAULT_WINDOW_DAYS
    """Days of usage fair share counts (``OPENQX_FAIRSHARE_WINDOW_DAYS``,
    ``--fairshare-window-days``; default 28, IBM Quantum's window; fractions allowed)."""
    device_concurrency: Mapping[str, int] = field(default_factory=dict)
    """The most jobs a device runs at once, per device, over the defaults of
    ``scheduler.concurrency`` (``OPENQX_DEVICE_CONCURRENCY=name=N,...``,
    ``--device-concurrency name=N``; N >= 1; a name the catalog does not serve is refused at
    start)."""
    guard_payloads: bool = True
    """Decode large untrusted payloads (QPY, OpenQASM) in separate, memory- and time-limited
    processes. The embedded service of ``OpenQX.local()`` serves only its own process, so it
    decodes in-process (and starts no extra processes that could re-run a user's script)."""

    def time_limit_for(self, backend: str) -> float | None:
        """The time limit of ``backend``'s jobs in seconds (``None``: no limit)."""
        limit = self.job_time_limits.get(backend, self.job_time_limit)
        return limit if limit else None

    @property
    def fairshare_window(self) -> timedelta:
        """The fair-share window as a duration."""
        return timedelta(days=self.fairshare_window_days)

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL actually used."""
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / 'openqx.sqlite3').resolve()}"

    @property
    def blob_location(self) -> str:
        """The blob store location actually used."""
        return self.blob_url or str((self.data_dir / "blobs").resolve())

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given non-``None`` fields replaced."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``OPENQX_*`` variables; bad values raise ``ValueError`` naming the variable."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}

        def number(name: str, cast: type) -> Any:
            try:
                return cast(env[name])
            except ValueError:
                raise ValueError(f"{name}={env[name]!r} is not a valid {cast.__name__}") from None

        def named(name: str, parse: Callable[[str], Any]) -> Any:
            try:
                return parse(env[name])
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None

        if "OPENQX_HOST" in env:
            values["host"] = env["OPENQX_HOST"]
        if "OPENQX_PORT" in env:
            values["port"] = number("OPENQX_PORT", int)
        if "OPENQX_DATA_DIR" in env:
            values["data_dir"] = Path(env["OPENQX_DATA_DIR"]).expanduser()
        if "OPENQX_DB" in env:
            values["db_url"] = env["OPENQX_DB"]
        if "OPENQX_BLOBS" in env:
            values["blob_url"] = env["OPENQX_BLOBS"]
        if "OPENQX_INLINE_BLOB_KB" in env:
            values["inline_blob_bytes"] = named("OPENQX_INLINE_BLOB_KB", parse_inline_blob_kb)
        if "OPENQX_EXECUTOR" in env:
            values["executor"] = env["OPENQX_EXECUTOR"]
        if "OPENQX_WORKERS" in env:
            values["workers"] = number("OPENQX_WORKERS", int)
        if "OPENQX_DASK_ADDRESS" in env:
            values["dask_address"] = env["OPENQX_DASK_ADDRESS"]
        if env.get("OPENQX_ADMIN_TOKEN"):
            values["admin_token"] = env["OPENQX_ADMIN_TOKEN"]
        if "OPENQX_MAX_PAYLOAD_MB" in env:
            megabytes = number("OPENQX_MAX_PAYLOAD_MB", float)
            if not 0 < megabytes < math.inf:
                raise ValueError(
                    f"OPENQX_MAX_PAYLOAD_MB={env['OPENQX_MAX_PAYLOAD_MB']!r} is not a positive "
                    "number of MiB"
                )
            values["max_payload_bytes"] = int(megabytes * 2**20)
        if env.get("OPENQX_JOB_LIMITS"):
            values["job_limits"] = parse_job_limits(env["OPENQX_JOB_LIMITS"])
        if "OPENQX_LEASE_SECONDS" in env:
            values["lease_seconds"] = number("OPENQX_LEASE_SECONDS", float)
        if env.get("OPENQX_JOB_TIME_LIMIT"):
            values["job_time_limit"] = parse_time_limit(env["OPENQX_JOB_TIME_LIMIT"])
        if env.get("OPENQX_JOB_TIME_LIMITS"):
            values["job_time_limits"] = parse_time_limits(env["OPENQX_JOB_TIME_LIMITS"])
        if "OPENQX_JOB_MAX_ATTEMPTS" in env:
            values["max_attempts"] = number("OPENQX_JOB_MAX_ATTEMPTS", int)
        if "OPENQX_STOP_TIMEOUT" in env:
            values["stop_timeout"] = number("OPENQX_STOP_TIMEOUT", float)
        if env.get("OPENQX_DISPATCHER_ID"):
            values["dispatcher_id"] = env["OPENQX_DISPATCHER_ID"]
        if env.get("OPENQX_DEVICES_CONFIG"):
            values["devices_config"] = Path(env["OPENQX_DEVICES_CONFIG"]).expanduser()
        if "OPENQX_FAIRSHARE_WINDOW_DAYS" in env:
            values["fairshare_window_days"] = named(
                "OPENQX_FAIRSHARE_WINDOW_DAYS", parse_window_days
            )
        if env.get("OPENQX_DEVICE_CONCURRENCY"):
            values["device_concurrency"] = named(
                "OPENQX_DEVICE_CONCURRENCY", parse_device_concurrency
            )
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """Raise ``ValueError`` for values that cannot work."""
        if self.executor not in EXECUTOR_KINDS:
            kinds = ", ".join(EXECUTOR_KINDS)
            raise ValueError(f"unknown executor {self.executor!r}; choose one of {kinds}")
        if self.executor == "dask" and not self.dask_address:
            raise ValueError("the dask executor needs a scheduler address (--dask-address)")
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port} is out of range")
        if self.workers is not None and self.workers < 1:
            raise ValueError(
                f"workers (--workers, OPENQX_WORKERS) must be at least 1, not {self.workers}; "
                "leave it unset for the default (cores - 1, at least 1)"
            )
        if self.inline_blob_bytes < 0:
            raise ValueError(f"the inline blob size ({self.inline_blob_bytes} bytes) is negative")
        if self.max_payload_bytes < 1:
            raise ValueError(
                f"the largest request body (OPENQX_MAX_PAYLOAD_MB) must be positive, "
                f"not {self.max_payload_bytes} bytes"
            )
        if not 0 < self.lease_seconds < math.inf:  # NaN fails this too
            raise ValueError(
                f"the lease (OPENQX_LEASE_SECONDS) must be a positive number of seconds, "
                f"not {self.lease_seconds}"
            )
        if not 0 < self.poll_seconds < math.inf:
            raise ValueError(f"the poll interval must be positive seconds, not {self.poll_seconds}")
        if not 0 <= self.stop_timeout < math.inf:
            raise ValueError(
                "the stop timeout (--stop-timeout, OPENQX_STOP_TIMEOUT) must be a finite number "
                f"of seconds, 0 or more, not {self.stop_timeout}"
            )
        if self.db_url is not None:
            check_database_url(self.db_url)
        if self.max_attempts < 1:
            raise ValueError(f"max attempts ({self.max_attempts}) must be at least 1")
        for limit in (self.job_time_limit, *self.job_time_limits.values()):
            if limit is not None and limit < 0:
                raise ValueError(f"a job time limit ({limit} s) must not be negative")
        check_window_days(self.fairshare_window_days)
        for name, jobs in self.device_concurrency.items():
            concurrency.check_override(name, jobs)


MAX_INLINE_BLOB_KB = 64 * 1024.0
"""The largest inline size accepted (64 MiB, the largest request body by default)."""


def parse_job_limits(text: str) -> dict[str, int]:
    """Parse ``name=N,name2=M`` into a dict."""
    limits: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            raise ValueError(f"bad job limit {item!r}; expected backend=N")
        limits[name.strip()] = int(value)
    return limits


def parse_time_limit(text: str) -> float | None:
    """Parse a time limit in seconds; ``0`` or ``none`` means no limit."""
    if text.strip().lower() in ("none", "0"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"bad job time limit {text!r}; expected seconds or 'none'") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"bad job time limit {text!r}; expected seconds or 'none'")
    return value or None


def parse_time_limits(text: str) -> dict[str, float | None]:
    """Parse ``name=seconds,name2=none`` into a dict."""
    limits: dict[str, float | None] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"bad job time limit {item!r}; expected backend=seconds")
        limits[name.strip()] = parse_time_limit(value)
    return limits


def parse_inline_blob_kb(text: str) -> int:
    """``--inline-blob-kb`` / ``OPENQX_INLINE_BLOB_KB`` (KiB, fractions allowed) in bytes."""
    try:
        kib = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of KiB") from None
    if not 0 <= kib <= MAX_INLINE_BLOB_KB:  # NaN fails this too
        raise ValueError(f"{text!r} KiB is out of range; expected 0 to {MAX_INLINE_BLOB_KB:g}")
    return int(kib * 1024)


def check_window_days(days: float) -> float:
    """Return ``days`` if it is a usable fair-share window, else raise ``ValueError``."""
    if not 0 < days <= MAX_WINDOW_DAYS:  # NaN fails this too
        raise ValueError(
            f"bad fair-share window {days:g} days; expected more than 0 and at most "
            f"{MAX_WINDOW_DAYS:g} days"
        )
    return days


def parse_window_days(text: str) -> float:
    """Parse the fair-share window in days (``28``, ``0.5``)."""
    try:
        days = float(text)
    except ValueError:
        raise ValueError(f"bad fair-share window {text!r}; expected a number of days") from None
    return check_window_days(days)


def parse_device_concurrency(text: str) -> dict[str, int]:
    """Parse ``name=N,name2=M`` into a dict; N >= 1."""
    limits: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not name or not (value.isascii() and value.isdigit()):
            raise ValueError(f"bad device concurrency {item!r}; expected device=N with N >= 1")
        concurrency.check_override(name, int(value))
        limits[name] = int(value)
    return limits


def check_database_url(url: str) -> str:
    """Return ``url`` if it names a database SQLAlchemy can open, else raise ``ValueError``
    (the message shows the URL without its password).

    Checked without connecting: the URL parses, its dialect and driver are known, and a
    SQLite file's folder exists. Whether the server answers is learnt when it is opened.
    """
    import sqlalchemy as sa
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    expected = "expected sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"

    def problem(text: str, shown: str) -> ValueError:
        return ValueError(f"the database URL (--db, OPENQX_DB) {shown!r} is not usable: {text}")

    try:
        parsed = sa.make_url(url)
    except (ArgumentError, ValueError):  # its message would repeat a password
        before, at, host = url.rpartition("@")
        shown = f"{before.partition('//')[0]}//***@{host}" if at else url
        raise problem(f"it is not a URL; {expected}", shown) from None
    shown = parsed.render_as_string(hide_password=True)
    try:
        parsed.get_dialect()
    except (ArgumentError, NoSuchModuleError) as exc:
        raise problem(f"{exc}; {expected}", shown) from None
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:"):
        folder = Path(database).expanduser().parent
        if not parsed.query.get("uri") and not folder.is_dir():
            raise problem(f"the folder {str(folder)!r} of its SQLite file does not exist", shown)
    return url
