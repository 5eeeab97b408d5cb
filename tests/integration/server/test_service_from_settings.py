"""``Service.from_settings``: the default parts on a real SQLite file and a blob folder, the
app built around them, and closing what was opened."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from openqx.server.app import create_app
from openqx.server.service import Service, ServiceStatus
from openqx.server.settings import Settings
from openqx.store.blobs import LocalBlobStore
from openqx.store.database import DatabaseNotOpenError, DatabaseState
from openqx.store.inline_blobs import DatabaseBlobStore
from openqx.store.sql_store import SqlJobStore

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)  # see tests/unit/server/harness
    from starlette.testclient import TestClient

TOKEN = "from-settings-token"


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, executor="inline", workers=1, admin_token=TOKEN)


def test_from_settings_builds_migrated_sqlite_and_a_blob_folder(tmp_path: Path) -> None:
    service = Service.from_settings(_settings(tmp_path / "data"))
    try:
        assert isinstance(service.store, SqlJobStore)
        assert isinstance(service.blobs, DatabaseBlobStore)  # small blobs: rows
        assert isinstance(service.blobs.large, LocalBlobStore)
        assert service.blobs.database is service.store.database
        assert (tmp_path / "data" / "openqx.sqlite3").exists()
        assert service.store.database.current_revision() is not None
        assert service.status is ServiceStatus.NEW
        assert service.store.count_users() == 0  # the admin comes with open()
    finally:
        service.close()
    assert service.store.database.state is DatabaseState.CLOSED
    with pytest.raises(DatabaseNotOpenError):
        service.store.count_users()


def test_the_app_opens_and_closes_a_service_from_settings(tmp_path: Path) -> None:
    service = Service.from_settings(_settings(tmp_path))
    store = service.store
    assert isinstance(store, SqlJobStore)
    with TestClient(create_app(service)) as client:
        answer = client.get("/v1/account", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200
        assert answer.json()["user"] == "admin"
        assert service.status is ServiceStatus.OPEN
    assert service.status.value == "closed"
    assert store.database.state is DatabaseState.CLOSED


def test_a_second_service_on_the_same_folder_keeps_the_data(tmp_path: Path) -> None:
    with Service.from_settings(_settings(tmp_path)) as first:
        first.store.create_user("kept", "kept-token")
    with Service.from_settings(_settings(tmp_path)) as second:
        assert second.store.user_for_token("kept-token").name == "kept"
        assert len(second.store.list_users()) == 2  # admin bootstrapped once


def test_bad_settings_are_refused_before_anything_opens(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "never", executor="teleport")
    with pytest.raises(ValueError, match="teleport"):
        Service.from_settings(settings)
    assert not (tmp_path / "never").exists()
