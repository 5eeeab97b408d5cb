"""``openqx serve`` checks its settings before it prints or starts anything: flags and
``OPENQX_*`` variables alike, one line naming the setting, exit status 2."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from openqx.cli.main import main
from openqx.cli.serve import _start_up_logs
from openqx.server.settings import Settings, check_database_url


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``OPENQX_*`` variable of the machine running the tests reaches ``openqx serve``."""
    for name in [name for name in os.environ if name.startswith("OPENQX_")]:
        monkeypatch.delenv(name)


# --- the settings object --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({"OPENQX_STOP_TIMEOUT": "nan"}, ("stop timeout", "OPENQX_STOP_TIMEOUT", "nan")),
        ({"OPENQX_STOP_TIMEOUT": "inf"}, ("stop timeout", "finite", "inf")),
        ({"OPENQX_STOP_TIMEOUT": "-0.5"}, ("stop timeout", "-0.5")),
        ({"OPENQX_WORKERS": "0"}, ("workers", "OPENQX_WORKERS", "at least 1", "not 0")),
        ({"OPENQX_WORKERS": "-1"}, ("workers", "at least 1", "not -1")),
        ({"OPENQX_DB": "bogus://x"}, ("OPENQX_DB", "'bogus://x'", "bogus")),
        ({"OPENQX_DB": "not a url"}, ("OPENQX_DB", "not a URL")),
        ({"OPENQX_DB": "sqlite:////no/such/folder/x.db"}, ("'/no/such/folder'", "not exist")),
        ({"OPENQX_LEASE_SECONDS": "nan"}, ("OPENQX_LEASE_SECONDS", "nan")),
        ({"OPENQX_MAX_PAYLOAD_MB": "nan"}, ("OPENQX_MAX_PAYLOAD_MB", "'nan'")),
        ({"OPENQX_MAX_PAYLOAD_MB": "0"}, ("OPENQX_MAX_PAYLOAD_MB", "positive")),
    ],
)
def test_a_bad_variable_is_refused_by_name(environ: dict[str, str], words: tuple[str]) -> None:
    with pytest.raises(ValueError) as info:
        Settings.from_env(environ)
    for word in words:
        assert word in str(info.value), info.value


@pytest.mark.parametrize(
    "fields",
    [{"stop_timeout": float("nan")}, {"workers": 0}, {"poll_seconds": 0.0}, {"db_url": "x://"}],
)
def test_the_check_refuses_what_cannot_work(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Settings(**fields).check()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "sqlite:///relative.db", "postgresql+psycopg://u@h/db"],
)
def test_usable_database_urls_pass(url: str) -> None:
    assert check_database_url(url) == url
    assert Settings(db_url=url, stop_timeout=0.0, workers=1).db_url == url


def test_a_refused_database_url_does_not_show_its_password() -> None:
    for url in ("postgresql+nodriver://user:s3cret@host/db", "postgresql://user:s3cret@h:x/db"):
        with pytest.raises(ValueError) as info:
            check_database_url(url)
        assert "s3cret" not in str(info.value) and "***" in str(info.value), info.value


# --- the command ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--stop-timeout", "nan"], ("--stop-timeout", "nan")),
        (["--stop-timeout", "-1"], ("--stop-timeout", "-1")),
        (["--workers", "0"], ("--workers", "not 0")),
        (["--workers", "-1"], ("--workers", "not -1")),
        (["--db", "bogus://x"], ("--db", "bogus")),
        (["--db", "sqlite:////no/such/folder/x.db"], ("--db", "/no/such/folder")),
        (
            ["--devices-config", "/no/such/devices.toml"],
            ("/no/such/devices.toml", "cannot be read"),
        ),
    ],
)
def test_a_bad_flag_is_one_line_before_anything_else(
    flags: list[str],
    words: tuple[str],
    tmp_path: Path,
    clean_environment: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--data-dir", str(tmp_path), "--port", "1", *flags]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("openqx serve: "), captured.err
    for word in words:
        assert word in lines[0], lines[0]
    assert not list(tmp_path.iterdir())  # no database, no blob folder: nothing was started


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("OPENQX_STOP_TIMEOUT", "nan", ("OPENQX_STOP_TIMEOUT", "nan")),
        ("OPENQX_WORKERS", "0", ("OPENQX_WORKERS", "not 0")),
        ("OPENQX_DB", "bogus://x", ("OPENQX_DB", "bogus")),
        ("OPENQX_DEVICES_CONFIG", "/no/such/devices.toml", ("/no/such/devices.toml",)),
    ],
)
def test_a_bad_variable_is_one_line_before_anything_else(
    variable: str,
    value: str,
    words: tuple[str],
    tmp_path: Path,
    clean_environment: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["serve", "--data-dir", str(tmp_path), "--port", "1"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("openqx serve: "), lines
    for word in words:
        assert word in lines[0], lines[0]


# --- what is logged while the service starts ---------------------------------------------------


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def collected() -> Iterator[_Collect]:
    """The root logger's only handler for the test, at INFO."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    handler = _Collect()
    root.handlers, root.level = [handler], logging.INFO
    yield handler
    root.handlers, root.level = handlers, level


def _start_up_logger() -> logging.Logger:
    """A logger of this test's own: others in the suite (alembic's, configured by earlier
    migrations) may have been disabled or given a level by the tests that ran before."""
    logger = logging.getLogger("tests.serve_start_checks.start_up")
    logger.disabled, logger.level = False, logging.NOTSET
    return logger


def test_the_lines_of_a_start_are_written_once_it_succeeded(collected: _Collect) -> None:
    with _start_up_logs() as started:
        _start_up_logger().info("Running upgrade 1 -> 2")
        assert collected.messages == []
        started()
    logging.getLogger("openqx").info("after")
    assert collected.messages == ["Running upgrade 1 -> 2", "after"]


def test_the_lines_of_a_failed_start_are_dropped(collected: _Collect) -> None:
    with _start_up_logs():
        _start_up_logger().info("Running upgrade 1 -> 2")
    logging.getLogger("openqx").info("after")
    assert collected.messages == ["after"]
