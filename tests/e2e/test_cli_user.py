"""The user commands (``openqx login``, ``backends``, ``jobs``, ``job``, ``result``, ``cancel``,
``watch``) as a user runs them: subprocesses against a real server.

Every failure is one line on stderr with a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import statistics
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from qiskit import transpile

from openqx.client import OpenQX
from openqx.client.backend import OpenQXBackend
from openqx.client.provider import AccountProvider
from openqx.embedded import EmbeddedServer
from tests.e2e.circuits import forever, ghz
from tests.e2e.compat_helpers import wait_running

COMMAND_TIMEOUT = 180.0
"""Seconds one CLI run may take (a fresh interpreter imports qiskit)."""


@dataclass(frozen=True)
class Run:
    """The outcome of one ``openqx`` run."""

    status: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


class Cli(Protocol):
    """Runs ``openqx`` with the given arguments."""

    def __call__(self, *args: str) -> Run: ...


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """One worker, so that a slow job keeps the next ones QUEUED."""
    data_dir = tmp_path_factory.mktemp("openqx-user-cli")
    with EmbeddedServer(data_dir=data_dir, executor="local", workers=1) as srv:
        yield srv


@pytest.fixture(scope="module")
def provider(server: EmbeddedServer) -> AccountProvider:
    return OpenQX.enable_account(server.token, url=server.url)


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("config")


def _environment(config_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENQX_")}
    env["OPENQX_CONFIG_DIR"] = str(config_dir)
    return env


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "openqx.cli.main", *args]


@pytest.fixture(scope="module")
def cli(config_dir: Path) -> Cli:
    """Run ``openqx <args>`` with the module's config folder and no OPENQX_* variables."""

    def run(*args: str) -> Run:
        done = subprocess.run(
            _command(*args),
            capture_output=True,
            text=True,
            env=_environment(config_dir),
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture(scope="module")
def logged_in(server: EmbeddedServer, cli: Cli, config_dir: Path) -> Cli:
    """``cli`` after ``openqx login`` saved the admin's account."""
    run = cli("login", "--url", server.url, "--token", server.token, "--json")
    assert run.status == 0 and run.stderr == "", run
    answer = run.json
    assert answer["user"] == "admin" and answer["url"] == server.url
    saved = config_dir / "account.json"
    assert answer["saved_to"] == str(saved)
    assert json.loads(saved.read_text())["token"] == server.token
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    return cli


def _assert_one_line_failure(run: Run, status: int, *words: str) -> None:
    assert run.status == status, run
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("openqx") and "Traceback" not in run.stderr
    for word in words:
        assert word in lines[0], lines[0]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _bell_jobs(backend: OpenQXBackend, tag: str, count: int) -> list[str]:
    circuit = transpile(ghz(2), backend, seed_transpiler=1)
    jobs = [
        backend.run(circuit, shots=100, job_name=f"bell{i}", job_tags=[tag]) for i in range(count)
    ]
    for job in jobs:
        job.wait_for_final_state(timeout=COMMAND_TIMEOUT)
    return [job.job_id() for job in jobs]


# --- success ------------------------------------------------------------------------------


def test_backends_show_status_and_median_calibration(
    logged_in: Cli, provider: AccountProvider
) -> None:
    run = logged_in("backends", "--devices", "--json")
    assert run.status == 0, run
    rows = {row["name"]: row for row in run.json}
    assert rows and not any(row["simulator"] for row in rows.values())
    manila = rows["fake_manila"]
    properties = provider.get_backend("fake_manila").properties(refresh=True)
    assert properties is not None
    t1s = [properties.t1(qubit) * 1e6 for qubit in range(5)]
    assert manila["num_qubits"] == 5 and manila["operational"] is True
    assert manila["pending_jobs"] >= 0
    assert manila["median_t1_us"] == pytest.approx(statistics.median(t1s))
    errors = [
        gate.parameters[0].value
        for gate in properties.gates
        if len(gate.qubits) == 2 and gate.parameters[0].name == "gate_error"
    ]
    assert manila["median_two_qubit_error"] == pytest.approx(statistics.median(errors))

    table = logged_in("backends", "--simulators")
    assert table.status == 0, table
    assert "simulator_statevector" in table.stdout and "fake_manila" not in table.stdout
    assert "median T1" in table.stdout


def test_jobs_filters(logged_in: Cli, provider: AccountProvider) -> None:
    backend = provider.get_backend("fake_manila")
    ids = _bell_jobs(backend, "cli-list", 3)
    newest_first = list(reversed(ids))

    listed = logged_in("jobs", "--tag", "cli-list", "--json")
    assert listed.status == 0, listed
    assert [job["id"] for job in listed.json] == newest_first
    assert all(job["status"] == "DONE" for job in listed.json)

    limited = logged_in("jobs", "--tag", "cli-list", "--limit", "2", "--oldest-first", "--json")
    assert [job["id"] for job in limited.json] == ids[:2]
    named = logged_in(
        "jobs", "--tag", "cli-list", "--name", "^bell1$", "--status", "DONE", "--json"
    )
    assert [job["id"] for job in named.json] == [ids[1]]
    elsewhere = logged_in("jobs", "--tag", "cli-list", "--backend", "fake_lima", "--json")
    assert elsewhere.json == []

    table = logged_in("jobs", "--tag", "cli-list")
    assert table.status == 0, table
    for job_id in ids:
        assert job_id in table.stdout


def test_job_and_result_of_a_finished_job(logged_in: Cli, provider: AccountProvider) -> None:
    backend = provider.get_backend("fake_manila")
    (job_id,) = _bell_jobs(backend, "cli-one", 1)
    counts = provider.backend.retrieve_job(job_id).result().get_counts()

    shown = logged_in("job", job_id, "--json")
    assert shown.status == 0, shown
    assert shown.json["job"]["id"] == job_id and shown.json["job"]["status"] == "DONE"
    assert shown.json["counts"] == [counts]
    assert {"QUEUED", "RUNNING", "DONE"} <= set(shown.json["job"]["time_per_step"])

    text = logged_in("job", job_id)
    assert text.status == 0, text
    for word in ("DONE", "time per step", "RUNNING", "histogram", "11"):
        assert word in text.stdout

    result = logged_in("result", job_id, "--json")
    assert result.status == 0, result
    assert result.json["job_id"] == job_id and result.json["success"] is True
    histogram = logged_in("result", job_id)
    assert histogram.status == 0, histogram
    for outcome, count in counts.items():
        assert outcome in histogram.stdout and str(count) in histogram.stdout


def test_queue_cancel_and_watch_live(
    logged_in: Cli, provider: AccountProvider, config_dir: Path
) -> None:
    simulator = provider.get_backend("simulator_statevector")
    busy = simulator.run(forever(), shots=10)  # holds the server's only worker
    wait_running(busy)
    small = transpile(ghz(2), simulator)
    queued = simulator.run(small, shots=10)
    doomed = simulator.run(small, shots=10)

    shown = logged_in("job", queued.job_id(), "--json")
    assert shown.status == 0, shown
    assert shown.json["job"]["status"] == "QUEUED"
    assert shown.json["queue_info"]["position"] is not None
    text = logged_in("job", queued.job_id())
    assert "queue position" in text.stdout and "estimated start" in text.stdout

    cancelled = logged_in("cancel", doomed.job_id())
    assert cancelled.status == 0 and "cancelled" in cancelled.stdout, cancelled
    again = logged_in("cancel", doomed.job_id(), "--json")  # idempotent, as the API is
    assert again.status == 0 and again.json["status"] == "CANCELLED", again

    # Live: the watcher reports QUEUED now, and DONE once the worker is free.
    watcher = subprocess.Popen(
        _command("watch", queued.job_id(), "--json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(config_dir),
    )
    try:
        assert watcher.stdout is not None
        first = json.loads(watcher.stdout.readline())
        assert first == {"job_id": queued.job_id(), "status": "QUEUED", "queue_position": 1}
        assert busy.cancel() is True
        rest, errors = watcher.communicate(timeout=COMMAND_TIMEOUT)
    finally:
        watcher.kill()
    assert watcher.returncode == 0, errors
    events = [json.loads(line) for line in rest.splitlines()]
    assert events[-1]["status"] == "DONE"
    seen = [first, *events]  # one line per change: the stream's first event is not repeated
    assert all(before != after for before, after in zip(seen, seen[1:], strict=False)), seen
    too_late = logged_in("cancel", queued.job_id())
    _assert_one_line_failure(too_late, 1, "not cancelled", "DONE")

    ended_cancelled = logged_in("watch", busy.job_id())
    assert ended_cancelled.status == 1
    assert "CANCELLED" in ended_cancelled.stdout
    assert ended_cancelled.stderr.splitlines() == [f"openqx: job {busy.job_id()} ended CANCELLED."]
    no_result = logged_in("result", busy.job_id())
    _assert_one_line_failure(no_result, 1, "cancelled")


# --- failures: one line, non-zero ---------------------------------------------------------


def test_server_down_is_one_line(cli: Cli) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    _assert_one_line_failure(
        cli("jobs", "--url", url, "--token", "anything"), 1, "Could not reach", url
    )
    _assert_one_line_failure(
        cli("login", "--url", url, "--token", "anything"), 1, "Could not reach"
    )


def test_bad_token_is_one_line(server: EmbeddedServer, cli: Cli) -> None:
    run = cli("backends", "--url", server.url, "--token", "not-a-token")
    _assert_one_line_failure(run, 1, "refused the API token")
    login = cli("login", "--url", server.url, "--token", "not-a-token")
    _assert_one_line_failure(login, 1, "refused the API token")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("jobs", "--url", "127.0.0.1:8000", "--token", "t"), ("http://",)),
        (("login", "--url", "localhost:8000", "--token", "t"), ("http://",)),
        (("jobs", "--limit", "ten"), ("--limit", "whole number", "'ten'")),
        (("jobs", "--skip", "-1"), ("--skip", "0 or more")),
        (("jobs", "--since", "yesterday"), ("--since", "ISO 8601")),
        (("backends", "--min-qubits", "x"), ("--min-qubits",)),
        (("watch", "abc", "--timeout", "soon"), ("--timeout",)),
        (("jobs", "--instance", "not-an-instance"), ("hub/group/project",)),
        (("jobs", "--no-such-flag"), ("unrecognized arguments", "--no-such-flag")),
        (("job",), ("ID", "openqx job --help")),
        (("jobs", "--status", "FOO"), ("--status", "FOO")),
        (("jobs", "--name", "["), ("--name",)),
        (("jobs", "--tag", ""), ("tags", "empty")),
    ],
)
def test_bad_input_is_one_line(logged_in: Cli, args: tuple[str, ...], words: tuple[str]) -> None:
    _assert_one_line_failure(logged_in(*args), 2, *words)


def test_unknown_job_is_one_line(logged_in: Cli) -> None:
    for command in ("job", "result", "cancel", "watch"):
        _assert_one_line_failure(logged_in(command, "0123456789abcdef01234567"), 1, "not found")


def test_not_logged_in_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        _command("jobs"),
        capture_output=True,
        text=True,
        env=_environment(tmp_path),
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    _assert_one_line_failure(Run(done.returncode, done.stdout, done.stderr), 2, "openqx login")


def test_help_is_plain_text(cli: Cli) -> None:
    for args in ((), ("jobs",), ("watch",)):
        run = cli(*args, "--help")
        assert run.status == 0, run
        assert "``" not in run.stdout and ":class:" not in run.stdout
    assert "openqx login" in cli("--help").stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--device", "nosuch"), ("no device 'nosuch'", "fake_manila")),
        (("--qubits", "9"), ("--qubits 9", "fake_manila", "5 qubits")),
    ],
)
def test_demo_bad_input_is_one_line(cli: Cli, args: tuple[str, ...], words: tuple[str]) -> None:
    run = cli("demo", "--executor", "inline", *args)
    assert run.status == 2, run
    assert run.stderr.splitlines() == [next(iter(run.stderr.splitlines()), "")]
    assert "Traceback" not in run.stderr
    for word in words:
        assert word in run.stderr


def test_login_reads_the_token_from_a_pipe(server: EmbeddedServer, tmp_path: Path) -> None:
    done = subprocess.run(
        _command("login", "--url", server.url, "--json"),
        input=f"{server.token}\n",
        capture_output=True,
        text=True,
        env=_environment(tmp_path),
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["user"] == "admin"
    assert json.loads((tmp_path / "account.json").read_text())["token"] == server.token


def test_until_a_bare_date_keeps_that_days_jobs(logged_in: Cli, provider: AccountProvider) -> None:
    (job_id,) = _bell_jobs(provider.get_backend("ibmq_qasm_simulator"), "until-day", 1)
    created = provider.backend.retrieve_job(job_id).creation_date()
    day = created.astimezone().date().isoformat()  # the CLI reads times as local, as shown
    listed = logged_in("jobs", "--tag", "until-day", "--until", day, "--json")
    assert listed.status == 0, listed
    assert [job["id"] for job in listed.json] == [job_id]
    since = logged_in("jobs", "--tag", "until-day", "--since", day, "--json")
    assert [job["id"] for job in since.json] == [job_id]


def test_result_of_a_sampler_job_shows_its_histograms(
    logged_in: Cli, provider: AccountProvider
) -> None:
    from qiskit.quantum_info import SparsePauliOp

    from openqx.client.primitives import EstimatorV2, SamplerV2

    backend = provider.get_backend("ibmq_qasm_simulator")
    circuit = transpile(ghz(2), backend, seed_transpiler=1)
    sampled = SamplerV2(mode=backend).run([circuit], shots=100)
    sampled.result()
    shown = logged_in("result", sampled.job_id())
    assert shown.status == 0, shown
    assert "PUB 0, register meas" in shown.stdout and "00" in shown.stdout
    assert "primitive_result" not in shown.stdout
    estimated = EstimatorV2(mode=backend).run(
        [(circuit.remove_final_measurements(inplace=False), SparsePauliOp("ZZ"))]
    )
    estimated.result()
    shown = logged_in("result", estimated.job_id())
    assert shown.status == 0, shown
    assert "PUB 0: expectation values 1.0" in shown.stdout


def test_a_reader_that_goes_away_is_no_traceback(server: EmbeddedServer, config_dir: Path) -> None:
    # The reader of the pipe exits at once; openqx writes after its request, to a closed pipe.
    command = " ".join(
        [*map(repr, _command("admin", "--url", server.url, "--token", server.token)), "units"]
    )
    done = subprocess.run(
        ["bash", "-c", f"{command} | true"],
        capture_output=True,
        text=True,
        env=_environment(config_dir),
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
