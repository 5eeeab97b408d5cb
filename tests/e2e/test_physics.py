"""Run options with physics, through a real server and the client (issue 12, section 2)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from qiskit import QuantumCircuit

from openqx.client import OpenQX
from openqx.client.backend import OpenQXBackend
from openqx.embedded import EmbeddedServer

DEVICE = "fake_manila"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenQXBackend]:
    data_dir = tmp_path_factory.mktemp("openqx-physics")
    with EmbeddedServer(data_dir=data_dir, executor="inline", workers=1) as server:
        yield OpenQX.enable_account(server.token, url=server.url).get_backend(DEVICE)


def _x_measure() -> QuantumCircuit:
    circuit = QuantumCircuit(1, 1, name="x")
    circuit.x(0)
    circuit.measure(0, 0)
    return circuit


def test_configuration_advertises_kerneled_readout(backend: OpenQXBackend) -> None:
    assert backend.configuration().meas_levels == [1, 2]


def test_kerneled_memory_through_the_client(backend: OpenQXBackend) -> None:
    zero = QuantumCircuit(1, 1, name="zero")
    zero.measure(0, 0)
    job = backend.run([zero, _x_measure()], shots=300, meas_level=1, meas_return="single")
    result = job.result()
    points = [np.asarray(result.get_memory(i)) for i in range(2)]
    assert points[0].shape == (300, 1) and points[0].dtype == complex
    # The two clouds are apart: their means differ by much more than the spread of a mean.
    assert abs(points[0].mean() - points[1].mean()) > 0.5
    averaged = backend.run([zero], shots=300, meas_level=1, meas_return="avg").result()
    assert np.asarray(averaged.get_memory(0)).shape == (1,)


def test_classified_readout_is_asymmetric_as_the_snapshot(backend: OpenQXBackend) -> None:
    zero = QuantumCircuit(1, 1, name="zero")
    zero.measure(0, 0)
    shots = 20_000
    job = backend.run([zero, _x_measure()], shots=shots, seed_simulator=5)
    counts = job.result().get_counts()
    props = job.properties()
    assert props is not None
    eps0 = float(props.qubit_property(0, "prob_meas1_prep0")[0])
    eps1 = float(props.qubit_property(0, "prob_meas0_prep1")[0])
    assert counts[0].get("1", 0) / shots == pytest.approx(eps0, abs=5 * np.sqrt(eps0 / shots))
    assert counts[1].get("0", 0) / shots == pytest.approx(
        eps1, abs=5 * np.sqrt(eps1 / shots) + 0.001
    )


def test_init_qubits_false_alternates_and_memory_slots_widen(backend: OpenQXBackend) -> None:
    job = backend.run(
        _x_measure(), shots=400, memory=True, init_qubits=False, rep_delay=0.0, memory_slots=3
    )
    memory = job.result().get_memory(0)
    assert all(len(bits) == 3 for bits in memory)
    values = [int(bits, 2) for bits in memory]
    same = np.mean([a == b for a, b in zip(values, values[1:], strict=False)])
    assert same < 0.2  # X on the previous shot's state flips it every shot
    usage = job.result().to_dict()["metadata"]["usage"]
    assert usage["rep_delay"] == 0.0 and usage["quantum_seconds"] > 0
