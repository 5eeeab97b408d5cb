"""A throwaway PostgreSQL 15 server for the test session, and databases cloned from a template.

    server = start_postgres()            # None when no binaries (see postgres_unavailable_reason)
    make_template(server, "tmpl", setup) # once: create + migrate
    url = clone_database(server, "tmpl") # per test; drop_database(server, url) afterwards
    server.stop()

Runs ``initdb``/``pg_ctl`` through ``su postgres -c`` when the tests run as root (initdb
refuses root), directly otherwise.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PostgresServer",
    "clone_database",
    "drop_database",
    "find_pg_bin",
    "make_template",
    "postgres_required",
    "postgres_unavailable_reason",
    "start_postgres",
]

PG_BIN_DIRS = ("/usr/local/bin", "/usr/lib/postgresql/15/bin")
READY_TIMEOUT_S = 30.0


def postgres_required() -> bool:
    """Whether ``OPENQX_REQUIRE_POSTGRES=1`` asks to fail rather than skip without binaries."""
    return os.environ.get("OPENQX_REQUIRE_POSTGRES") == "1"


def find_pg_bin() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl`` (None when not installed)."""
    for directory in PG_BIN_DIRS:
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    return None


def postgres_unavailable_reason() -> str | None:
    """Why no server can be started here (None when it can)."""
    if find_pg_bin() is None:
        return f"PostgreSQL binaries (initdb, pg_ctl) not found in {', '.join(PG_BIN_DIRS)} or PATH"
    if os.geteuid() == 0 and shutil.which("su") is None:
        return "running as root and 'su' is missing (initdb refuses root)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as_postgres(command: str) -> None:
    """Run a shell command as the postgres user when we are root, else as ourselves."""
    argv = ["su", "postgres", "-c", command] if os.geteuid() == 0 else ["sh", "-c", command]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{command!r} failed ({result.returncode}): {result.stderr.strip()}")


@dataclass
class PostgresServer:
    """A running throwaway server (superuser ``postgres``, trust auth, 127.0.0.1 only)."""

    root: Path
    port: int
    bin_dir: Path

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of one database on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        """Run one statement in autocommit on the ``postgres`` database."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Poll with a connection until the server answers (or raise TimeoutError)."""
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(
                    host="127.0.0.1", port=self.port, user="postgres", connect_timeout=2
                ).close()
                return
            except psycopg.OperationalError as error:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"PostgreSQL on port {self.port} not ready") from error
                time.sleep(0.05)

    def stop(self) -> None:
        """``pg_ctl stop -m fast`` and remove the temporary directory."""
        try:
            _run_as_postgres(
                f"{self.bin_dir / 'pg_ctl'} -D {shlex.quote(str(self.data_dir))} -m fast -w stop"
            )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """initdb + start a server on a free port of 127.0.0.1 with its socket in a temp dir.

    Raises:
        RuntimeError: binaries missing or a command failed.
        TimeoutError: the server did not become ready.
    """
    reason = postgres_unavailable_reason()
    if reason is not None:
        raise RuntimeError(reason)
    bin_dir = find_pg_bin()
    assert bin_dir is not None
    root = Path(tempfile.mkdtemp(prefix="openqx-pg-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data = shlex.quote(str(root / "data"))
    _run_as_postgres(
        f"{bin_dir / 'initdb'} -D {data} -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 "
        "--no-sync >/dev/null"
    )
    port = _free_port()
    options = (
        f"-p {port} -k {shlex.quote(str(root))} -c listen_addresses=127.0.0.1 "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    _run_as_postgres(
        f"{bin_dir / 'pg_ctl'} -D {data} -l {shlex.quote(str(root / 'server.log'))} "
        f"-o {shlex.quote(options)} -w start >/dev/null"
    )
    server = PostgresServer(root=root, port=port, bin_dir=bin_dir)
    server.wait_ready()
    return server


def make_template(server: PostgresServer, name: str, setup: Callable[[str], None]) -> None:
    """Create database ``name`` and run ``setup(url)`` on it (e.g. the migrations) once."""
    server.execute(f'CREATE DATABASE "{name}"')
    setup(server.url(name))


def clone_database(server: PostgresServer, template: str) -> str:
    """A fresh database copied from ``template``; returns its URL.

    ``FILE_COPY`` copies the (tiny) template's files: ~30 ms against ~230 ms for PostgreSQL
    15's default ``WAL_LOG`` strategy with fsync off.
    """
    name = f"t_{uuid.uuid4().hex[:16]}"
    server.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    return server.url(name)


def drop_database(server: PostgresServer, url: str) -> None:
    """Drop the database of ``url`` (closing leftover connections)."""
    name = url.rsplit("/", 1)[1]
    server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
