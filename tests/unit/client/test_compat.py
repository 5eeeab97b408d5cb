"""``openqx.compat.ibmq`` and the legacy behaviours of the client against the fake server:
accounts as the seed had them, seed-style backends (``name()``, ``provider()``,
``provider.backends.<name>``), simulator noise models and ``backend_options``, ``qobj_header``,
``use_measure_esp``, circuit-only listings, cancel answers and ``client_version``."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from qiskit import QuantumCircuit
from qiskit.providers import JobStatus as QiskitJobStatus

from openqx.client import OpenQX
from openqx.client import exceptions as exc
from openqx.client.http import ApiClient
from openqx.client.provider import AccountProvider as OpenQXProvider
from openqx.compat.ibmq import (
    IBMQ,
    AccountProvider,
    BackendName,
    IBMQBackend,
    IBMQSimulator,
)
from openqx.connection.failures import InvalidSetting
from openqx.connection.session import proxy_mounts
from openqx.core.status import JobStatus
from tests.unit.client.conftest import TOKEN, URL, FakeServer


@pytest.fixture(autouse=True)
def _no_ibmq_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("QE_TOKEN", "QE_URL", "QE_HUB", "QE_GROUP", "QE_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    IBMQ._provider = None
    yield
    IBMQ._provider = None


@pytest.fixture
def ibmq(transport: httpx.MockTransport) -> AccountProvider:
    provider = IBMQ.enable_account(TOKEN, URL, transport=transport)
    assert isinstance(provider, AccountProvider)
    return provider


def _bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2, name="bell")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


# --- accounts ---------------------------------------------------------------------------


def test_ibmq_refuses_a_second_account_while_openqx_replaces(
    transport: httpx.MockTransport,
) -> None:
    first = IBMQ.enable_account(TOKEN, URL, transport=transport)
    with pytest.raises(exc.OpenQXAccountError, match="already in use"):
        IBMQ.enable_account(TOKEN, URL, transport=transport)
    assert IBMQ.get_provider() is first
    mine = OpenQX.enable_account(TOKEN, URL, transport=transport)
    assert OpenQX.enable_account(TOKEN, URL, transport=transport) is not mine
    assert type(mine) is OpenQXProvider and IBMQ.get_provider() is first  # separate sessions


def test_hub_group_project_pick_one_instance(transport: httpx.MockTransport) -> None:
    provider = IBMQ.enable_account(TOKEN, URL, "h", "g", "q", transport=transport)
    assert provider.instance == "h/g/q"
    IBMQ.disable_account()
    assert IBMQ.enable_account(TOKEN, URL, project="p", transport=transport).instance == "h/g/p"
    IBMQ.disable_account()
    with pytest.raises(exc.OpenQXProviderError, match="More than one provider matches"):
        IBMQ.enable_account(TOKEN, URL, hub="h", transport=transport)
    with pytest.raises(exc.OpenQXProviderError, match="No provider matches"):
        IBMQ.enable_account(TOKEN, URL, "x", "g", "p", transport=transport)
    with pytest.raises(exc.OpenQXAccountValueError, match="surrounding spaces"):
        IBMQ.enable_account(TOKEN, URL, hub=" h", transport=transport)
    with pytest.raises(exc.OpenQXAccountValueError, match="not both"):
        OpenQX.enable_account(TOKEN, URL, "h/g/p", hub="h", transport=transport)
    assert IBMQ.active_account() is None


def test_save_account_in_the_seeds_order(tmp_path: Path, transport: httpx.MockTransport) -> None:
    with pytest.raises(exc.OpenQXAccountValueError, match="must all be specified"):
        IBMQ.save_account(TOKEN, URL, "h", "g")
    with pytest.raises(exc.OpenQXAccountError, match="Unknown account options"):
        IBMQ.save_account(TOKEN, URL, color="blue")
    IBMQ.save_account(TOKEN, URL, "h", "g", "q", False, verify=False)
    stored = json.loads((tmp_path / "config" / "account.json").read_text())
    assert stored == {"token": TOKEN, "url": URL, "instance": "h/g/q", "verify": False}
    provider = IBMQ.load_account(transport=transport)
    assert provider.instance == "h/g/q" and provider.api_client.verify is False


@pytest.mark.parametrize("instance", ["h/g", "h//p", "h/g/p/x", 7])
def test_a_malformed_stored_instance_is_refused_on_load(
    tmp_path: Path, transport: httpx.MockTransport, instance: object
) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    stored = {"token": TOKEN, "url": URL, "instance": instance}
    (folder / "account.json").write_text(json.dumps(stored))
    with pytest.raises(exc.OpenQXAccountValueError, match="malformed"):
        IBMQ.load_account(transport=transport)


def test_seed_environment_variables(
    monkeypatch: pytest.MonkeyPatch, transport: httpx.MockTransport
) -> None:
    monkeypatch.setenv("QE_TOKEN", TOKEN)
    monkeypatch.setenv("QE_URL", URL)
    monkeypatch.setenv("QE_HUB", "h")
    monkeypatch.setenv("QE_GROUP", "g")
    monkeypatch.setenv("QE_PROJECT", "q")
    assert IBMQ.load_account(transport=transport).instance == "h/g/q"
    monkeypatch.setenv("OPENQX_TOKEN", TOKEN)  # the same token: not ambiguous
    assert IBMQ.load_account(transport=transport).instance == "h/g/q"
    monkeypatch.setenv("OPENQX_TOKEN", "other")
    with pytest.raises(exc.OpenQXAccountMultipleCredentialsFound):
        IBMQ.load_account(transport=transport)
    monkeypatch.delenv("OPENQX_TOKEN")
    with pytest.raises(exc.OpenQXAccountCredentialsNotFound):
        OpenQX.load_account(transport=transport)  # openqx's own names read OPENQX_* only


def test_an_unreadable_account_file_is_invalid_format(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "account.json").write_text("[ibmq]\ntoken = abc\n")
    with pytest.raises(exc.OpenQXAccountCredentialsInvalidFormat):
        IBMQ.load_account()
    with pytest.raises(exc.OpenQXAccountCredentialsInvalidFormat):
        OpenQX.stored_account()


def test_proxy_mounts() -> None:
    assert proxy_mounts(None) is None and proxy_mounts({}) is None
    mounts = proxy_mounts({"urls": {"http": "http://proxy:3128", "https://host": "http://p:1"}})
    assert mounts is not None and set(mounts) == {"http://", "https://host"}
    assert set(proxy_mounts({"https": "http://proxy:3128"}) or {}) == {"https://"}
    ntlm = {"urls": {"http": "http://p:1"}, "username_ntlm": "u", "password_ntlm": "p"}
    with pytest.raises(InvalidSetting, match="NTLM"):
        proxy_mounts(ntlm)
    with pytest.raises(InvalidSetting, match="Invalid proxy entry"):
        proxy_mounts({"urls": {"http": 3128}})
    with pytest.raises(InvalidSetting, match="needs to be a dict"):
        proxy_mounts(["http://p:1"])  # type: ignore[arg-type]
    # The provider raises its own account error for the same settings.
    with pytest.raises(exc.OpenQXAccountError, match="NTLM"):
        ApiClient(URL, TOKEN, proxies=ntlm)


def test_verify_needs_a_bool_or_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(exc.OpenQXAccountError, match="CA bundle"):
        ApiClient(URL, TOKEN, verify=str(tmp_path / "missing.pem"))
    with pytest.raises(exc.OpenQXAccountError, match="bool or the path"):
        ApiClient(URL, TOKEN, verify=1)  # type: ignore[arg-type]
    ApiClient(URL, TOKEN, verify=False).close()


# --- backends ---------------------------------------------------------------------------


def test_seed_style_backends(ibmq: AccountProvider, provider: OpenQXProvider) -> None:
    device = ibmq.get_backend("ibmq_manila")
    simulator = ibmq.get_backend("simulator_statevector")
    assert type(device) is IBMQBackend and type(simulator) is IBMQSimulator
    assert isinstance(device.name, BackendName) and device.name() == "ibmq_manila"
    assert device.name == "ibmq_manila" and {device.name: 1} == {"ibmq_manila": 1}
    assert json.dumps(device.name) == '"ibmq_manila"'
    assert device.provider() is ibmq and device.provider is ibmq
    # openqx's own names: BackendV2 as Qiskit has it.
    plain = provider.get_backend("ibmq_manila")
    assert type(plain.name) is str and not callable(plain.name)
    assert not callable(plain.provider)


def test_backends_as_attributes_warn_once(ibmq: AccountProvider) -> None:
    with pytest.warns(DeprecationWarning, match=r"provider\.backend"):
        assert ibmq.backends.ibmq_manila.name() == "ibmq_manila"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ibmq.backends.simulator_statevector.name() == "simulator_statevector"
        assert [b.name() for b in ibmq.backends(simulator=True)] == ["simulator_statevector"]
    assert "ibmq_manila" in dir(ibmq.backends)


def test_list_filters_contain(ibmq: AccountProvider) -> None:
    assert [b.name() for b in ibmq.backends(basis_gates=["h", "u"])] == ["simulator_statevector"]
    assert [b.name() for b in ibmq.backends(basis_gates="sx")] == ["ibmq_manila"]
    assert ibmq.backends(input_allowed="job") == []  # the fake server publishes none
    ibmq.get_backend("ibmq_manila").configuration_dict()["input_allowed"] = ["job"]
    assert [b.name() for b in ibmq.backends(input_allowed=["job"])] == ["ibmq_manila"]
    assert ibmq.backends(input_allowed=["job", "runtime"]) == []


def test_simulator_run_takes_backend_options_and_noise_model(
    ibmq: AccountProvider, server: FakeServer
) -> None:
    from qiskit_aer.noise import NoiseModel, ReadoutError

    model = NoiseModel()
    model.add_readout_error(ReadoutError([[0.9, 0.1], [0.1, 0.9]]), [0])
    simulator = ibmq.get_backend("simulator_statevector")
    assert isinstance(simulator, IBMQSimulator)
    with pytest.warns(DeprecationWarning, match="backend_options"):
        simulator.run(
            _bell(),
            backend_options={"shots": 10, "seed_simulator": 3, "method": "statevector"},
            noise_model=model,
            shots=20,
        )
    body = server.submissions[-1]
    assert body["shots"] == 20
    assert body["options"]["seed_simulator"] == 3 and body["options"]["method"] == "statevector"
    assert body["options"]["noise_model"] == model.to_dict(serializable=True)
    assert body["options"]["use_measure_esp"] is False  # recorded on simulators too
    with pytest.raises(exc.OpenQXBackendValueError, match="method"):
        simulator.run(_bell(), method="annealing")
    with pytest.raises(exc.OpenQXBackendValueError, match="NoiseModel"):
        simulator.run(_bell(), noise_model=object())
    with pytest.raises(exc.OpenQXBackendValueError, match="JSON"):
        simulator.run(_bell(), noise_model={"errors": [float("nan")]})
    device = ibmq.get_backend("ibmq_manila")
    with pytest.raises(exc.OpenQXBackendValueError, match="simulators only"):
        device.run(_bell(), noise_model=model)


def test_qobj_header_is_the_header(ibmq: AccountProvider, server: FakeServer) -> None:
    simulator = ibmq.get_backend("simulator_statevector")
    simulator.run(_bell(), qobj_header={"exp": 1})
    assert server.submissions[-1]["header"] == {"exp": 1}
    assert "qobj_header" not in server.submissions[-1]["options"]
    simulator.run(_bell(), header={"a": 1}, qobj_header=None)
    assert server.submissions[-1]["header"] == {"a": 1}
    with pytest.raises(exc.OpenQXBackendValueError, match="not both"):
        simulator.run(_bell(), header={"a": 1}, qobj_header={"b": 2})


def test_backend_jobs_list_circuit_jobs_only(ibmq: AccountProvider, server: FakeServer) -> None:
    circuits = server.add_job(JobStatus.DONE)
    server.add_job(JobStatus.DONE, kind="runtime", program_id="circuit-runner")
    device = ibmq.get_backend("ibmq_manila")
    assert [job.job_id() for job in device.jobs()] == [circuits]
    assert ibmq.backend.job_ids() == [circuits]
    assert all(query["kind"] == "circuits" for query in server.queries)


# --- jobs -------------------------------------------------------------------------------


def _cancel_answer(server: FakeServer, answer: dict[str, Any]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/cancel"):
            return httpx.Response(200, json=answer)
        return server.handler(request)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("answer", "expected", "status"),
    [
        ({"cancelled": True, "status": "CANCELLED"}, True, QiskitJobStatus.CANCELLED),
        ({"cancelled": False, "status": "RUNNING"}, False, QiskitJobStatus.RUNNING),
        ({"cancelled": True, "status": "RUNNING"}, False, QiskitJobStatus.RUNNING),  # old server
        ({"cancelled": False, "status": "DONE"}, False, QiskitJobStatus.DONE),
    ],
)
def test_cancel_is_true_only_for_a_cancelled_job(
    server: FakeServer, answer: dict[str, Any], expected: bool, status: QiskitJobStatus
) -> None:
    job_id = server.add_job(JobStatus.RUNNING)
    provider = IBMQ.enable_account(TOKEN, URL, transport=_cancel_answer(server, answer))
    job = provider.backend.retrieve_job(job_id)
    server.jobs[job_id]["status"] = answer["status"]

    assert job.cancel() is expected
    assert job.status() is status


def test_results_carry_client_version(ibmq: AccountProvider, server: FakeServer) -> None:
    job_id = server.add_job(
        JobStatus.DONE, client_info={"name": "openqx", "version": "9.9", "qiskit": "2.0"}
    )
    server.results[job_id] = {
        "backend_name": "ibmq_manila",
        "backend_version": "1.0",
        "job_id": job_id,
        "qobj_id": job_id,
        "success": True,
        "results": [{"shots": 1, "success": True, "data": {"counts": {"0x0": 1}}, "header": {}}],
    }
    result = ibmq.backend.retrieve_job(job_id).result()
    assert result.client_version == {"openqx": "9.9", "qiskit": "2.0"}
