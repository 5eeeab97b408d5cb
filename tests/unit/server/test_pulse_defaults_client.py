"""``backend.defaults()`` through the client: frequencies in Hz on the object, as the seed's
qiskit-terra ``PulseDefaults`` had them, so the old idiom of driving at the estimates works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from qiskit import QuantumCircuit, transpile

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


def test_a_job_driven_at_the_estimated_frequencies_runs(provider: AccountProvider) -> None:
    backend = provider.get_backend("fake_manila")
    defaults = backend.defaults()
    properties = backend.properties()
    assert defaults is not None and properties is not None
    assert defaults.qubit_freq_est[0] == pytest.approx(properties.frequency(0))  # both in Hz
    assert defaults.to_dict()["qubit_freq_est"][0] == pytest.approx(properties.frequency(0) / 1e9)
    circuit = QuantumCircuit(1, 1)
    circuit.x(0)
    circuit.measure(0, 0)
    job = backend.run(
        transpile(circuit, backend, seed_transpiler=1),
        shots=200,
        qubit_lo_freq=defaults.qubit_freq_est,
        meas_lo_freq=defaults.meas_freq_est,
    )
    counts = job.result().get_counts()
    assert counts.get("1", 0) > 150  # on resonance: the X still flips the qubit
