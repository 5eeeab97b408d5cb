"""``--inline-blob-kb`` / ``OPENQX_INLINE_BLOB_KB``: how large a payload or result may be to be
kept in the database (default 256 KiB, 0: none), and the service built with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from openqx.cli.main import build_parser, main
from openqx.cli.serve import settings_from
from openqx.server.service import Service
from openqx.server.settings import Settings
from openqx.store.inline_blobs import DEFAULT_MAX_INLINE_BYTES, DatabaseBlobStore


def test_the_default_keeps_blobs_up_to_256_kib_in_the_database() -> None:
    assert Settings().inline_blob_bytes == DEFAULT_MAX_INLINE_BYTES == 256 * 1024


def test_the_flag_wins_over_the_variable_and_takes_fractions() -> None:
    environ = {"OPENQX_INLINE_BLOB_KB": "8"}
    assert settings_from(build_parser().parse_args(["serve"]), environ).inline_blob_bytes == 8192
    args = build_parser().parse_args(["serve", "--inline-blob-kb", "0.5"])
    assert settings_from(args, environ).inline_blob_bytes == 512
    args = build_parser().parse_args(["serve", "--inline-blob-kb", "0"])
    assert settings_from(args, environ).inline_blob_bytes == 0


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "lots", "70000"])
def test_a_bad_variable_is_refused_naming_it(value: str) -> None:
    with pytest.raises(ValueError, match=f"OPENQX_INLINE_BLOB_KB: '{value}'"):
        Settings.from_env({"OPENQX_INLINE_BLOB_KB": value})


def test_a_bad_flag_is_one_line_and_exit_status_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENQX_INLINE_BLOB_KB", raising=False)
    assert main(["serve", "--inline-blob-kb", "-3"]) == 2
    error = capsys.readouterr().err.strip()
    assert error == "openqx serve: --inline-blob-kb: '-3' KiB is out of range; expected 0 to 65536"


def test_the_service_keeps_small_blobs_in_its_database(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, executor="inline", workers=1, inline_blob_bytes=10)
    service = Service.from_settings(settings)
    try:
        assert isinstance(service.blobs, DatabaseBlobStore)
        service.blobs.put_many(
            [("jobs/a/payload.qpy", b"small"), ("jobs/a/result.json", b"x" * 11)]
        )
        assert service.blobs.get("jobs/a/payload.qpy") == b"small"
        assert not (tmp_path / "blobs" / "jobs" / "a" / "payload.qpy").exists()
        assert (tmp_path / "blobs" / "jobs" / "a" / "result.json").read_bytes() == b"x" * 11
    finally:
        service.close()
