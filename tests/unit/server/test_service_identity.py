"""The service's dispatcher name: kept in the data folder across restarts, different for two
live services on one folder, random (with a warning) when the folder cannot hold it."""

from __future__ import annotations

from pathlib import Path

import pytest

from openqx.scheduler.identity import ID_FILE
from openqx.server.service import Service
from openqx.server.settings import Settings


def _settings(data_dir: Path, tmp_path: Path, **values: object) -> Settings:
    return Settings(
        data_dir=data_dir,
        db_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        blob_url=str(tmp_path / "blobs"),
        executor="inline",
        workers=1,
        **values,  # type: ignore[arg-type]
    )


def test_the_name_is_kept_in_the_data_folder(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "data", tmp_path)
    first = Service.from_settings(settings)
    name = first.dispatcher.worker_id
    assert name == (tmp_path / "data" / ID_FILE).read_text().strip()
    second = Service.from_settings(settings)  # alive at the same time: another name
    assert second.dispatcher.worker_id == f"{name}-2"
    second.close()
    first.close()
    again = Service.from_settings(settings)
    assert again.dispatcher.worker_id == name
    again.close()


def test_a_configured_name_wins(tmp_path: Path) -> None:
    service = Service.from_settings(_settings(tmp_path / "data", tmp_path, dispatcher_id="r1"))
    assert service.dispatcher.worker_id == "r1"
    assert not (tmp_path / "data" / ID_FILE).exists()
    service.close()


def test_a_folder_that_cannot_hold_the_name_gives_a_random_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    service = Service.from_settings(_settings(not_a_folder, tmp_path))
    assert service.dispatcher.worker_id.startswith("dispatcher-")
    assert "no stable dispatcher name" in caplog.text
    service.close()
