"""``openqx serve`` that cannot start, as an operator runs it (a subprocess with the real
logging set-up): one line on stderr naming the problem, a non-zero exit status, and nothing
before it (no "serving on" line, no migration lines)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.serve_process import free_port

COMMAND_TIMEOUT = 120.0
"""Seconds one failing start may take (a fresh interpreter imports the server)."""


def _serve(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENQX_")}
    command = [sys.executable, "-m", "openqx.cli.main", "serve", "--data-dir", str(data_dir)]
    done = subprocess.run(
        [*command, "--port", str(free_port()), *args],
        capture_output=True,
        text=True,
        env={**environ, **(env or {})},
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert done.stdout == ""
    return done.returncode, done.stderr


def _assert_one_line(stderr: str, *words: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("openqx serve: "), stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (("--stop-timeout", "nan"), {}, ("--stop-timeout", "nan")),
        ((), {"OPENQX_STOP_TIMEOUT": "nan"}, ("OPENQX_STOP_TIMEOUT", "nan")),
        (("--workers", "-1"), {}, ("--workers", "at least 1")),
        (("--workers", "0"), {}, ("--workers", "at least 1")),
        (("--devices-config", "/nonexistent.toml"), {}, ("/nonexistent.toml", "cannot be read")),
        (("--db", "bogus://x"), {}, ("--db", "bogus")),
    ],
)
def test_bad_settings_are_one_line_and_start_nothing(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], words: tuple[str, ...]
) -> None:
    status, stderr = _serve(tmp_path / "data", *args, env=env)
    assert status == 2
    _assert_one_line(stderr, *words)
    assert not (tmp_path / "data").exists()


def test_a_start_failing_after_the_migrations_is_one_line(tmp_path: Path) -> None:
    """The database is created and migrated (which logs at INFO) before the catalog refuses
    a device it does not serve: those lines are dropped with the failed start."""
    status, stderr = _serve(tmp_path, "--device-concurrency", "fake_manilla=1")
    assert status == 2
    _assert_one_line(stderr, "fake_manilla", "did you mean fake_manila?")
    assert (tmp_path / "openqx.sqlite3").exists()  # it did get that far


def test_a_database_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    """A SQLite "file" that is a folder: learnt only when the database is opened."""
    folder = tmp_path / "a-folder"
    folder.mkdir()
    status, stderr = _serve(tmp_path, "--db", f"sqlite:///{folder}")
    assert status == 1
    _assert_one_line(stderr, "cannot start the service", "unable to open database file")
