"""``openqx admin`` as a user runs it: a subprocess against a real server.

Every failure is one line on stderr with a non-zero exit status, never a traceback (Ctrl-C too:
exit status 130).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from openqx.client.http import ApiClient
from openqx.embedded import EmbeddedServer
from tests.e2e.units import make_project

COMMAND_TIMEOUT = 120.0
"""Seconds one CLI run may take (a fresh interpreter imports qiskit)."""


@dataclass(frozen=True)
class Run:
    """The outcome of one ``openqx admin`` run."""

    status: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return self.stderr.splitlines()


class AdminCli(Protocol):
    """Runs ``openqx admin`` with the given arguments."""

    def __call__(self, *args: str) -> Run: ...


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    data_dir = tmp_path_factory.mktemp("openqx-admin")
    with EmbeddedServer(data_dir=data_dir, executor="inline") as srv:
        yield srv


@pytest.fixture
def admin_cli(tmp_path: Path) -> AdminCli:
    """Run ``openqx admin <args>`` with no stored account and no OPENQX_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENQX_")}
    env["OPENQX_CONFIG_DIR"] = str(tmp_path / "config")

    def run(*args: str) -> Run:
        done = subprocess.run(
            [sys.executable, "-m", "openqx.cli.main", "admin", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=COMMAND_TIMEOUT,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    return run


def _free_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _assert_one_line_failure(run: Run, status: int, *words: str) -> None:
    assert run.status == status, run
    assert run.stdout == ""
    assert len(run.error_lines) == 1, run.stderr
    line = run.error_lines[0]
    assert line.startswith("openqx admin: ") and "Traceback" not in run.stderr
    for word in words:
        assert word in line, line


def test_create_user_list_users_and_set_a_job_limit(
    server: EmbeddedServer, admin_cli: AdminCli
) -> None:
    creds = ("--url", server.url, "--token", server.token)
    with ApiClient(server.url, server.token) as api:
        make_project(api, "h/g/p")
    created = admin_cli(*creds, "create-user", "carol", "--instance", "h/g/p")
    assert created.status == 0 and created.stderr == "", created
    user = json.loads(created.stdout)
    assert user["name"] == "carol" and user["instances"] == ["h/g/p"] and user["token"]
    assert user["is_admin"] is False

    listed = admin_cli(*creds, "users")
    assert listed.status == 0, listed
    assert "carol" in [entry["user"] for entry in json.loads(listed.stdout)]

    with ApiClient(server.url, server.token) as api:
        default = api.backend_job_limit("fake_manila").maximum_jobs
    assert default != 3
    limited = admin_cli(*creds, "set-job-limit", "fake_manila", "3")
    assert limited.status == 0, limited
    assert json.loads(limited.stdout)["maximum_jobs"] == 3
    # 'none' removes the limit for real (issue 10: it used to fall back to the default);
    # 'default' forgets the setting, so the backend's default limit applies again.
    cleared = admin_cli(*creds, "set-job-limit", "fake_manila", "none")
    assert cleared.status == 0 and json.loads(cleared.stdout)["maximum_jobs"] is None
    reset = admin_cli(*creds, "set-job-limit", "fake_manila", "default")
    assert reset.status == 0 and json.loads(reset.stdout)["maximum_jobs"] == default

    # The new user's token is not an admin token: refused, in one line.
    refused = admin_cli("--url", server.url, "--token", user["token"], "users")
    _assert_one_line_failure(refused, 1, "permission_denied")


def test_server_down_is_one_line(admin_cli: AdminCli) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    run = admin_cli("--url", url, "--token", "anything", "users")
    _assert_one_line_failure(run, 1, "Could not reach the openqx server", "127.0.0.1")


def test_bad_token_is_one_line(server: EmbeddedServer, admin_cli: AdminCli) -> None:
    run = admin_cli("--url", server.url, "--token", "not-a-token", "users")
    _assert_one_line_failure(run, 1, "token")


@pytest.mark.parametrize(
    ("value", "words"),
    [("abc", ("maximum_jobs", "'abc'")), ("1.5", ("maximum_jobs",)), ("-2", ("0 or more",))],
)
def test_malformed_number_is_one_line(
    server: EmbeddedServer, admin_cli: AdminCli, value: str, words: tuple[str, ...]
) -> None:
    run = admin_cli(
        "--url", server.url, "--token", server.token, "set-job-limit", "fake_manila", value
    )
    _assert_one_line_failure(run, 2, *words)


def test_missing_credentials_bad_url_and_bad_user_name_are_one_line(admin_cli: AdminCli) -> None:
    _assert_one_line_failure(admin_cli("users"), 2, "--url", "--token")
    no_scheme = admin_cli("--url", "127.0.0.1:8000", "--token", "t", "users")
    _assert_one_line_failure(no_scheme, 2, "http://")
    broken = admin_cli("--url", "http://[::1", "--token", "t", "users")
    _assert_one_line_failure(broken, 1, "Invalid URL")
    run = admin_cli("--url", "http://127.0.0.1:1", "--token", "t", "create-user", "no spaces")
    _assert_one_line_failure(run, 2, "invalid user", "name")


def test_names_and_ids_address_only_their_own_object(
    server: EmbeddedServer, admin_cli: AdminCli
) -> None:
    # A name that would be another route if put in the path unescaped ("../backends" is
    # GET /v1/backends, which answers 200) is looked up as a name: not found.
    auth = ("--url", server.url, "--token", server.token)
    _assert_one_line_failure(admin_cli(*auth, "user", "../../backends"), 1, "404")
    _assert_one_line_failure(admin_cli(*auth, "reservations", ".."), 1)
    _assert_one_line_failure(admin_cli(*auth, "maintenance-end", "../users"), 1)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_while_waiting_for_the_server_is_one_line(tmp_path: Path) -> None:
    """A server that accepts the connection and never answers; Ctrl-C ends the wait."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENQX_")}
    env["OPENQX_CONFIG_DIR"] = str(tmp_path / "config")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        silent.settimeout(COMMAND_TIMEOUT)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        command = [sys.executable, "-m", "openqx.cli.main", "admin", "--url", url]
        with subprocess.Popen(
            [*command, "--token", "t", "users"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            # As from a terminal: a test run started in the background ignores SIGINT, and a
            # child inherits that (Python then raises no KeyboardInterrupt).
            preexec_fn=_default_sigint,
        ) as admin:
            connection, _ = silent.accept()  # the command now waits for the answer
            with connection:
                admin.send_signal(signal.SIGINT)
                stdout, stderr = admin.communicate(timeout=COMMAND_TIMEOUT)
    run = Run(admin.returncode, stdout, stderr)
    _assert_one_line_failure(run, 130, "interrupted")
