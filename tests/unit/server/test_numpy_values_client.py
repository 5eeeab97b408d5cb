"""numpy values where Qiskit users put them (run options, the header, circuit metadata) are
sent as plain JSON values, as Aer and the seed's provider took them; what cannot be sent is
the provider's value error, not a raw serialization error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile

from openqx.client import exceptions as exc
from openqx.client.account import OpenQX
from openqx.client.provider import AccountProvider
from tests.unit.server.harness import Harness


@pytest.fixture()
def provider(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AccountProvider]:
    monkeypatch.setenv("OPENQX_CONFIG_DIR", str(tmp_path))
    yield harness.provider()
    OpenQX._provider = None


def _circuit(**metadata: object) -> QuantumCircuit:
    circuit = QuantumCircuit(1, 1, metadata=metadata)
    circuit.x(0)
    circuit.measure(0, 0)
    return circuit


def test_numpy_run_options_header_and_metadata_are_sent_as_plain_values(
    provider: AccountProvider,
) -> None:
    backend = provider.get_backend("fake_manila")
    circuit = transpile(
        _circuit(angles=np.array([0.1, 0.2]), count=np.int64(3), amplitude=1 + 2j),
        backend,
        seed_transpiler=1,
    )
    job = backend.run(
        circuit,
        shots=np.int64(120),
        memory_slots=np.int64(2),
        rep_delay=np.float32(1e-4),
        header={"run": np.int64(7), "weights": np.array([1, 2])},
    )
    result = job.result()
    assert sum(result.get_counts().values()) == 120
    assert job.backend_options()["rep_delay"] == pytest.approx(1e-4)
    assert result.header["run"] == 7
    assert result.header["weights"] == [1, 2]
    (sent,) = job.circuits()
    assert sent.metadata == {"angles": [0.1, 0.2], "count": 3, "amplitude": [1.0, 2.0]}


def test_metadata_that_cannot_be_sent_is_a_value_error(provider: AccountProvider) -> None:
    class Opaque:
        pass

    backend = provider.get_backend("ibmq_qasm_simulator")
    with pytest.raises(exc.OpenQXBackendValueError, match="cannot be sent as QPY.*Opaque"):
        backend.run(_circuit(thing=Opaque()))
    assert backend.jobs() == []
