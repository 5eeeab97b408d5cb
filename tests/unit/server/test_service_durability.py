"""The blob store shares the database's promise: files are flushed to disk exactly when a
commit survives a power loss (``docs/durability.md``)."""

from __future__ import annotations

from pathlib import Path

from openqx.server.service import Service, commits_survive_power_loss
from openqx.server.settings import Settings
from openqx.store.blobs import LocalBlobStore
from openqx.store.database import Database
from openqx.store.inline_blobs import DatabaseBlobStore


def test_only_postgresql_commits_survive_a_power_loss() -> None:
    assert not commits_survive_power_loss(Database("sqlite:///jobs.sqlite3"))
    assert commits_survive_power_loss(Database("postgresql+psycopg://openqx@db/openqx"))


def test_beside_sqlite_the_local_blob_store_does_not_fsync(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, executor="inline", workers=1)
    service = Service.from_settings(settings)
    try:
        assert isinstance(service.blobs, DatabaseBlobStore)  # small blobs: database rows
        assert isinstance(service.blobs.large, LocalBlobStore)
        assert service.blobs.large.fsync is False
    finally:
        service.close()
