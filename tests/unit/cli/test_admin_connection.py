"""``openqx admin``'s connection: which server, token and TLS settings a command uses, and
the names it refuses before sending anything."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from openqx.cli import admin
from openqx.cli.main import build_parser
from openqx.connection.account_file import write_account

STORED_URL = "https://openqx.example:8443"


@pytest.fixture(autouse=True)
def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENQX_CONFIG_DIR", str(tmp_path / "config"))
    for variable in ("OPENQX_URL", "OPENQX_TOKEN"):
        monkeypatch.delenv(variable, raising=False)


def _parse(*args: str) -> argparse.Namespace:
    return build_parser().parse_args(["admin", *args])


def test_the_stored_account_brings_its_tls_settings() -> None:
    write_account({"token": "stored-token", "url": STORED_URL, "verify": False})
    connection = admin._connection(_parse("users"))
    assert (connection.url, connection.token) == (STORED_URL, "stored-token")
    assert connection.settings == {"verify": False}


def test_another_server_does_not_get_the_stored_settings() -> None:
    write_account({"token": "stored-token", "url": STORED_URL, "verify": False})
    connection = admin._connection(_parse("--url", "http://other:8000", "users"))
    assert (connection.url, connection.token) == ("http://other:8000", "stored-token")
    assert connection.settings == {}


def test_an_unreadable_stored_account_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "account.json").write_text("[not json")
    assert admin.admin(_parse("users")) == admin.EXIT_FAILED
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "Unable to read the stored account" in lines[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("user", ""), ("user name", "empty")),
        (("user", "bad\udcffname"), ("user name", "not valid text")),
        (("maintenance-end", ""), ("backend name", "empty")),
        (("set-job-limit", "", "3"), ("backend name", "empty")),
        # A unit's or a new user's name goes into a body, not a path: the model names it.
        (("create-unit", ""), ("invalid UnitCreate", "name")),
        (("create-user", ""), ("invalid user", "name")),
    ],
)
def test_a_name_that_names_nothing_is_refused_before_any_request(
    args: tuple[str, ...], words: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 9 on the loopback: nothing listens, so a request would fail with exit status 1.
    status = admin.admin(_parse("--url", "http://127.0.0.1:9", "--token", "t", *args))
    assert status == admin.EXIT_USAGE
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("openqx admin: ")
    assert all(word in lines[0] for word in words), lines
