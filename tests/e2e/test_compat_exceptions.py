"""Point 2 of the legacy issue, through ``openqx.compat.ibmq``: the seed's whole exception
family is importable, sits where the seed's tree put it, and is raised where the seed raised
it, against the real server."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from qiskit import transpile
from qiskit.exceptions import QiskitError
from qiskit.providers.exceptions import JobError, JobTimeoutError

from openqx.compat import ibmq
from openqx.compat.ibmq import (
    IBMQ,
    AccountProvider,
    ApiError,
    IBMQAccountCredentialsInvalidFormat,
    IBMQAccountCredentialsInvalidToken,
    IBMQAccountCredentialsInvalidUrl,
    IBMQAccountCredentialsNotFound,
    IBMQAccountError,
    IBMQAccountMultipleCredentialsFound,
    IBMQAccountValueError,
    IBMQApiError,
    IBMQBackendApiError,
    IBMQBackendApiProtocolError,
    IBMQBackendError,
    IBMQBackendJobLimitError,
    IBMQBackendValueError,
    IBMQError,
    IBMQInputValueError,
    IBMQJobApiError,
    IBMQJobError,
    IBMQJobFailureError,
    IBMQJobInvalidStateError,
    IBMQJobManager,
    IBMQJobManagerError,
    IBMQJobManagerInvalidStateError,
    IBMQJobManagerJobNotFound,
    IBMQJobManagerTimeoutError,
    IBMQJobManagerUnknownJobSet,
    IBMQJobTimeoutError,
    IBMQManagedResultDataNotAvailable,
    IBMQNotAuthorizedError,
    IBMQProviderError,
    QiskitRuntimeError,
    RequestsApiError,
    RuntimeInvalidStateError,
    RuntimeJobFailureError,
    RuntimeJobNotFound,
)
from openqx.embedded import EmbeddedServer
from tests.e2e.circuits import forever, ghz
from tests.e2e.compat_helpers import Forwarder, ibmq_session, wait_running

TIMEOUT = 120

SEED_TREE: dict[type[Exception], tuple[type[Exception], ...]] = {
    IBMQError: (QiskitError,),
    IBMQAccountError: (IBMQError,),
    IBMQAccountCredentialsNotFound: (IBMQAccountError,),
    IBMQAccountCredentialsInvalidFormat: (IBMQAccountError,),
    IBMQAccountCredentialsInvalidToken: (IBMQAccountError,),
    IBMQAccountCredentialsInvalidUrl: (IBMQAccountError,),
    IBMQAccountMultipleCredentialsFound: (IBMQAccountError,),
    IBMQProviderError: (IBMQAccountError,),
    IBMQAccountValueError: (IBMQError,),
    IBMQBackendError: (IBMQError,),
    IBMQBackendApiError: (IBMQBackendError,),
    IBMQBackendApiProtocolError: (IBMQBackendApiError,),
    IBMQBackendValueError: (IBMQBackendError, ValueError),
    IBMQBackendJobLimitError: (IBMQBackendError,),
    IBMQInputValueError: (IBMQError,),
    IBMQNotAuthorizedError: (IBMQError,),
    IBMQApiError: (IBMQError,),
    IBMQJobError: (IBMQError, JobError),
    IBMQJobApiError: (IBMQJobError,),
    IBMQJobFailureError: (IBMQJobError,),
    IBMQJobInvalidStateError: (IBMQJobError,),
    IBMQJobTimeoutError: (IBMQJobError, JobTimeoutError),
    IBMQJobManagerError: (IBMQError,),
    IBMQJobManagerInvalidStateError: (IBMQJobManagerError,),
    IBMQJobManagerTimeoutError: (IBMQJobManagerError,),
    IBMQJobManagerJobNotFound: (IBMQJobManagerError,),
    IBMQManagedResultDataNotAvailable: (IBMQJobManagerError,),
    IBMQJobManagerUnknownJobSet: (IBMQJobManagerError,),
    QiskitRuntimeError: (IBMQError,),
    RuntimeJobFailureError: (QiskitRuntimeError,),
    RuntimeInvalidStateError: (QiskitRuntimeError,),
    RuntimeJobNotFound: (QiskitRuntimeError,),
    ApiError: (IBMQError,),
    RequestsApiError: (ApiError,),
}


def test_the_family_sits_where_the_seed_put_it() -> None:
    for cls, parents in SEED_TREE.items():
        for parent in parents:
            assert issubclass(cls, parent), (cls, parent)
    assert not issubclass(IBMQAccountValueError, IBMQAccountError)  # a sibling in the seed
    assert RequestsApiError("no answer").status_code == -1
    documented = ibmq.exceptions.__doc__ or ""
    for cls in SEED_TREE:
        name = next(n for n in ibmq.exceptions.__all__ if getattr(ibmq.exceptions, n) is cls)
        assert name in documented, name


@pytest.fixture()
def config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "config"
    monkeypatch.setenv("OPENQX_CONFIG_DIR", str(folder))
    for name in ("OPENQX_TOKEN", "OPENQX_URL", "QE_TOKEN", "QE_URL", "QE_HUB", "QE_GROUP"):
        monkeypatch.delenv(name, raising=False)
    yield folder
    if IBMQ.active_account() is not None:
        IBMQ.disable_account()


def test_account_errors(
    server: EmbeddedServer, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(IBMQAccountCredentialsNotFound):
        IBMQ.load_account()
    with pytest.raises(IBMQAccountCredentialsNotFound):
        IBMQ.disable_account()
    with pytest.raises(IBMQAccountCredentialsInvalidToken):
        IBMQ.save_account("", server.url)
    with pytest.raises(IBMQAccountCredentialsInvalidToken, match="refused"):
        IBMQ.enable_account("not-a-token", server.url)
    with pytest.raises(IBMQAccountCredentialsInvalidUrl):
        IBMQ.save_account(server.token, "ftp://example.org")
    with pytest.raises(IBMQAccountValueError):
        IBMQ.save_account(server.token, server.url, "hub-only")
    with pytest.raises(IBMQProviderError):
        IBMQ.enable_account(server.token, server.url, hub="no-such-hub")

    config_dir.mkdir()
    (config_dir / "account.json").write_text("token = 'from qiskitrc'")
    with pytest.raises(IBMQAccountCredentialsInvalidFormat):
        IBMQ.load_account()
    (config_dir / "account.json").write_text(json.dumps({"token": ["not", "a", "string"]}))
    with pytest.raises(IBMQAccountCredentialsInvalidFormat):
        IBMQ.stored_account()
    (config_dir / "account.json").unlink()

    # The seed's environment variables work; two different tokens are ambiguous.
    monkeypatch.setenv("QE_TOKEN", server.token)
    monkeypatch.setenv("QE_URL", server.url)
    assert IBMQ.load_account().api_client.url == server.url
    IBMQ.disable_account()
    monkeypatch.setenv("QE_HUB", "hub-without-group")
    with pytest.raises(IBMQAccountValueError, match="together"):
        IBMQ.load_account()
    monkeypatch.delenv("QE_HUB")
    monkeypatch.setenv("OPENQX_TOKEN", "another-token")
    with pytest.raises(IBMQAccountMultipleCredentialsFound):
        IBMQ.load_account()


def test_a_server_that_does_not_answer_raises_requests_api_error(
    server: EmbeddedServer, config_dir: Path
) -> None:
    with Forwarder(server.url) as gone:
        url = gone.url
    with pytest.raises(RequestsApiError, match="Could not reach") as raised:
        IBMQ.enable_account(server.token, url, retries=0)
    assert raised.value.status_code == -1
    assert IBMQ.active_account() is None


@pytest.fixture(scope="module")
def provider(server: EmbeddedServer) -> Iterator[AccountProvider]:
    with ibmq_session(server) as provider:
        yield provider


def test_backend_and_service_errors(provider: AccountProvider) -> None:
    backend = provider.get_backend("ibmq_qasm_simulator")
    with pytest.raises(IBMQBackendApiError, match="no-such-job"):
        provider.backend.retrieve_job("no-such-job")
    with pytest.raises(IBMQBackendValueError, match="job_tags"):
        backend.run(ghz(2), job_tags={"foo"})  # type: ignore[arg-type]
    with pytest.raises(IBMQBackendValueError, match="status"):
        backend.jobs(status="bogus")
    with pytest.raises(IBMQBackendValueError, match="job_tags_operator"):
        backend.jobs(job_tags=["a"], job_tags_operator="XOR")
    with pytest.raises(IBMQInputValueError, match="Unknown service"):
        provider.service("experiment-db")
    with pytest.raises(IBMQJobManagerUnknownJobSet):
        IBMQJobManager().retrieve_job_set("no-such-set", provider)

    job = backend.run(transpile(ghz(2), backend), shots=10)
    device = provider.get_backend("fake_manila")
    with warnings.catch_warnings(record=True) as seen, pytest.raises(IBMQBackendError):
        warnings.simplefilter("always")
        device.retrieve_job(job.job_id())
    assert any("belongs to another backend" in str(w.message) for w in seen)
    with pytest.raises(IBMQJobInvalidStateError, match="job_name needs to be a string"):
        job.update_name(5)  # type: ignore[arg-type]
    job.wait_for_final_state(timeout=TIMEOUT)


def test_job_errors(provider: AccountProvider) -> None:
    simulator = provider.get_backend("simulator_statevector")
    busy = simulator.run(forever(), shots=10)
    wait_running(busy)
    queued = simulator.run(transpile(ghz(2), simulator), shots=10)
    with pytest.raises(IBMQJobTimeoutError, match="Timeout"):
        queued.result(timeout=0.5)
    assert queued.cancel() is True
    with pytest.raises(IBMQJobInvalidStateError, match="cancelled"):
        queued.result()
    assert busy.cancel() is True
