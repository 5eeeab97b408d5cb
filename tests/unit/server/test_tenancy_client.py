"""The client's accounts and providers over instances (issue 10), against the in-process
service: ``enable_account(hub, group, project)``, ``providers``, ``get_provider``, provider
credentials, per-instance job listings and limits, and the saved default instance."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from qiskit.providers.exceptions import QiskitBackendNotFoundError

from openqx.client import exceptions as exc
from openqx.client.account import OpenQX
from openqx.client.provider import AccountProvider
from tests.unit.server.harness import BASE_URL, Harness, bell

_n = itertools.count(1)
INSTANCES = ["lab/g/a", "lab/g/b", "lab/h/c"]


@pytest.fixture()
def token(harness: Harness) -> str:
    """A user of three instances (``lab/g/a`` the default) with device grants on ``a``."""
    name = f"multi{next(_n)}"
    harness.store.create_user(name, f"token-{name}", instances=INSTANCES)
    harness.store.grant_device("lab/g/a", "ibmq_qasm_simulator", job_limit=3)
    return f"token-{name}"


@pytest.fixture(autouse=True)
def no_active_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPENQX_CONFIG_DIR", str(tmp_path))
    for variable in ("OPENQX_TOKEN", "OPENQX_URL", "OPENQX_INSTANCE"):
        monkeypatch.delenv(variable, raising=False)
    yield
    OpenQX._provider = None


def _enable(harness: Harness, token: str, **parts: str) -> AccountProvider:
    return OpenQX.enable_account(
        token, BASE_URL, transport=harness.client._transport, retries=0, **parts
    )


def test_enable_account_picks_the_instance_and_providers_list_them(
    harness: Harness, token: str
) -> None:
    default = _enable(harness, token)
    assert default.credentials.instance == "lab/g/a"
    assert (default.credentials.hub, default.credentials.group) == ("lab", "g")
    assert "token-" not in repr(default.credentials)
    chosen = _enable(harness, token, hub="lab", group="h", project="c")
    assert chosen.instance == "lab/h/c"
    assert [p.instance for p in OpenQX.providers()] == INSTANCES
    assert [p.instance for p in OpenQX.providers(group="g")] == ["lab/g/a", "lab/g/b"]
    assert OpenQX.get_provider(project="b").credentials.project == "b"
    with pytest.raises(exc.OpenQXProviderError, match="More than one.*lab/g/a, lab/g/b"):
        OpenQX.get_provider(hub="lab")
    with pytest.raises(exc.OpenQXProviderError, match="No provider.*lab/g/a, lab/g/b, lab/h/c"):
        OpenQX.get_provider(hub="nowhere")
    with pytest.raises(exc.OpenQXProviderError):
        _enable(harness, token, hub="x", group="y", project="z")


def test_each_provider_acts_through_its_instance(harness: Harness, token: str) -> None:
    on_a = _enable(harness, token)
    on_b = OpenQX.get_provider(project="b")
    assert [b.name for b in on_a.backends()] == ["ibmq_qasm_simulator"]
    assert len(on_b.backends()) > 1
    job = on_b.get_backend("ibmq_qasm_simulator").run(bell(), shots=8)
    job.result()
    assert harness.store.get_job(job.job_id()).instance == "lab/g/b"
    assert [j.job_id() for j in on_b.backend.jobs()] == [job.job_id()]
    assert on_a.backend.jobs() == []
    limit_a = on_a.get_backend("ibmq_qasm_simulator").job_limit()
    assert limit_a.maximum_jobs == 3
    with pytest.raises(QiskitBackendNotFoundError):
        on_a.get_backend("fake_manila")


def test_saved_default_instance_is_used_by_load_account(harness: Harness, token: str) -> None:
    OpenQX.save_account(token, BASE_URL, hub="lab", group="h", project="c")
    loaded = OpenQX.load_account(transport=harness.client._transport, retries=0)
    assert loaded.credentials.instance == "lab/h/c"
