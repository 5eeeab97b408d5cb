"""Server settings: one typed object, read from the environment once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from openqx.execution.executors import EXECUTOR_KINDS

__all__ = ["EXECUTOR_KINDS", "Settings", "default_data_dir"]


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
    lease_seconds: float = 60.0
    """How long a claimed job stays leased without a heartbeat before it is requeued."""
    poll_seconds: float = 0.5
    """Scheduler wake-up interval when nothing signals it (seconds)."""
    job_limits: Mapping[str, int] = field(default_factory=dict)
    """Default per-user active-job limits by backend (``OPENQX_JOB_LIMITS=name=N,...``)."""

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
        if "OPENQX_EXECUTOR" in env:
            values["executor"] = env["OPENQX_EXECUTOR"]
        if "OPENQX_WORKERS" in env:
            values["workers"] = number("OPENQX_WORKERS", int)
        if "OPENQX_DASK_ADDRESS" in env:
            values["dask_address"] = env["OPENQX_DASK_ADDRESS"]
        if env.get("OPENQX_ADMIN_TOKEN"):
            values["admin_token"] = env["OPENQX_ADMIN_TOKEN"]
        if "OPENQX_MAX_PAYLOAD_MB" in env:
            values["max_payload_bytes"] = int(number("OPENQX_MAX_PAYLOAD_MB", float) * 2**20)
        if env.get("OPENQX_JOB_LIMITS"):
            values["job_limits"] = parse_job_limits(env["OPENQX_JOB_LIMITS"])
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


def parse_job_limits(text: str) -> dict[str, int]:
    """Parse ``name=N,name2=M`` into a dict."""
    limits: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            raise ValueError(f"bad job limit {item!r}; expected backend=N")
        limits[name.strip()] = int(value)
    return limits
