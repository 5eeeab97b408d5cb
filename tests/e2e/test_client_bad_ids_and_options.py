"""Ids and run options a user gets wrong, against a real server: a job id is looked up as
the id it is (never as another route or a query), an empty one is refused before any
request, and a run option that cannot be JSON is refused naming the option. Each failure is
one of the provider's exceptions with a clear message, never a pydantic dump."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qiskit import QuantumCircuit, transpile

from openqx.client import OpenQX
from openqx.client import exceptions as exc
from openqx.client.backend import OpenQXBackend
from openqx.client.job_manager import JobManager
from openqx.client.provider import AccountProvider
from openqx.embedded import EmbeddedServer
from tests.e2e.circuits import ghz

COMMAND_TIMEOUT = 180.0
"""Seconds one CLI run may take (a fresh interpreter imports qiskit)."""
_DUMP_WORDS = ("pydantic", "validation error", "input_value", "Unexpected value")
"""What a pydantic dump, or the client's wrapper of one, shows."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    data_dir = tmp_path_factory.mktemp("openqx-bad-ids")
    with EmbeddedServer(data_dir=data_dir, executor="inline", workers=1) as srv:
        yield srv


@pytest.fixture(scope="module")
def provider(server: EmbeddedServer) -> AccountProvider:
    return OpenQX.enable_account(server.token, url=server.url)


@pytest.fixture(scope="module")
def backend(provider: AccountProvider) -> OpenQXBackend:
    return provider.get_backend("ibmq_qasm_simulator")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def circuit(backend: OpenQXBackend) -> QuantumCircuit:
    return transpile(ghz(2), backend, seed_transpiler=1)


def _job_count(provider: AccountProvider) -> int:
    return len(provider.backend.job_ids(limit=None))


def _assert_clear(error: BaseException, *words: str) -> None:
    text = str(error)
    assert "\n" not in text, text
    for word in _DUMP_WORDS:
        assert word not in text, text
    for word in words:
        assert word in text, text


# --- job ids ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "job_id", ["../backends", "a/b", "x?y=1", "#", "x#y", ".", "..", "%2e%2e", "%", " "]
)
def test_a_job_id_is_looked_up_as_given(
    backend: OpenQXBackend, provider: AccountProvider, job_id: str
) -> None:
    with pytest.raises(exc.OpenQXBackendApiError) as info:
        backend.retrieve_job(job_id)
    assert info.value.code == "job_not_found" and info.value.status_code == 404
    _assert_clear(info.value, "not found", job_id.strip() or "Job")
    with pytest.raises(exc.OpenQXJobApiError) as direct:
        provider.api_client.job_status(job_id)
    assert direct.value.code == "job_not_found"
    _assert_clear(direct.value, "not found")


def test_an_empty_job_id_is_refused_naming_the_problem(
    backend: OpenQXBackend, provider: AccountProvider
) -> None:
    with pytest.raises(exc.OpenQXBackendApiError) as info:
        backend.retrieve_job("")
    assert info.value.code == "job_not_found"
    _assert_clear(info.value, "Job ''", "empty")
    with pytest.raises(exc.OpenQXJobApiError, match="empty"):
        provider.api_client.cancel_job("")
    with pytest.raises(exc.OpenQXJobManagerUnknownJobSet, match="empty"):
        JobManager().retrieve_job_set("", provider)


@pytest.mark.parametrize("set_id", ["../jobs", "a/b", "x?y=1", "."])
def test_a_job_set_id_is_looked_up_as_given(provider: AccountProvider, set_id: str) -> None:
    with pytest.raises(exc.OpenQXJobManagerUnknownJobSet) as info:
        JobManager().retrieve_job_set(set_id, provider)
    _assert_clear(info.value, set_id)


def test_a_backend_name_is_looked_up_as_given(provider: AccountProvider) -> None:
    with pytest.raises(exc.OpenQXBackendApiError) as info:
        provider.api_client.backend_status("x?y=1")
    assert info.value.code == "backend_not_found"
    _assert_clear(info.value, "'x?y=1'")
    with pytest.raises(exc.OpenQXBackendApiError, match="empty") as empty:
        provider.api_client.backend_configuration("")
    assert empty.value.code == "backend_not_found"


def test_a_real_job_is_still_found(backend: OpenQXBackend, circuit: QuantumCircuit) -> None:
    job = backend.run(circuit, shots=10)
    assert backend.retrieve_job(job.job_id()).job_id() == job.job_id()
    assert job.result().get_counts()


# --- run options --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (math.nan, ("'foo'", "finite", "nan")),
        (math.inf, ("'foo'", "finite", "inf")),
        ([1.0, -math.inf], ("'foo'", "finite", "foo[1]")),
        ({"deep": math.nan}, ("'foo'", "foo.deep", "finite")),
        (object(), ("'foo'", "JSON", "serialize")),
        ([object()], ("'foo'", "JSON", "serialize")),
    ],
)
def test_a_run_option_that_is_not_json_is_refused_by_name(
    backend: OpenQXBackend,
    provider: AccountProvider,
    circuit: QuantumCircuit,
    value: Any,
    words: tuple[str, ...],
) -> None:
    before = _job_count(provider)
    with pytest.warns(UserWarning, match="foo"), pytest.raises(exc.OpenQXBackendValueError) as info:
        backend.run(circuit, shots=10, foo=value)
    _assert_clear(info.value, "Run option", *words)
    assert _job_count(provider) == before


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"foo": "a\x00b"}, ("options.foo", "NUL")),
        ({"live_data_enabled": "yes"}, ("live_data_enabled", "boolean")),
        ({"header": {"k": "\ud800"}}, ("header.k", "surrogate")),
    ],
)
def test_what_the_schema_refuses_is_one_clear_line(
    backend: OpenQXBackend, circuit: QuantumCircuit, options: dict[str, Any], words: tuple[str]
) -> None:
    with (
        warnings.catch_warnings(action="ignore", category=UserWarning),
        pytest.raises(exc.OpenQXBackendValueError) as info,
    ):
        backend.run(circuit, shots=10, **options)
    _assert_clear(info.value, *words)


def test_a_header_field_that_is_not_json_is_refused_by_name(
    backend: OpenQXBackend, circuit: QuantumCircuit
) -> None:
    with pytest.raises(exc.OpenQXBackendValueError) as info:
        backend.run(circuit, shots=10, header={"when": math.nan})
    _assert_clear(info.value, "Header field 'when'", "finite")


def test_a_job_manager_set_keeps_the_same_clear_error(
    backend: OpenQXBackend, provider: AccountProvider, circuit: QuantumCircuit
) -> None:
    before = _job_count(provider)
    with pytest.warns(UserWarning, match="foo"):
        job_set = JobManager().run(
            [circuit, circuit], backend=backend, max_experiments_per_job=1, foo=math.nan
        )
        job_set.results(timeout=COMMAND_TIMEOUT)
    errors = [managed.submit_error for managed in job_set.managed_jobs()]
    assert len(errors) == 2
    for error in errors:
        assert isinstance(error, exc.OpenQXBackendValueError), errors
        _assert_clear(error, "Run option 'foo'", "finite")
    assert _job_count(provider) == before


# --- the command line ---------------------------------------------------------------------


def _openqx(server: EmbeddedServer, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENQX_")}
    env |= {"OPENQX_CONFIG_DIR": str(config), "OPENQX_URL": server.url}
    env["OPENQX_TOKEN"] = server.token
    return subprocess.run(
        [sys.executable, "-m", "openqx.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "status", "words"),
    [
        (("job", ""), 2, ("job id", "empty")),
        (("result", " "), 2, ("job id", "empty")),
        (("job", "../backends"), 1, ("Job '../backends' not found",)),
        (("job", "x?y=1"), 1, ("x?y=1", "not found")),
    ],
)
def test_the_cli_says_one_line(
    server: EmbeddedServer,
    tmp_path: Path,
    args: tuple[str, ...],
    status: int,
    words: tuple[str, ...],
) -> None:
    done = _openqx(server, tmp_path, *args)
    assert done.returncode == status, done
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("openqx: "), done.stderr
    for word in (*words, *_DUMP_WORDS):
        assert (word in lines[0]) == (word in words), lines[0]
