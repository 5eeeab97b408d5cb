"""Aer's threads in a worker: one for small simulations, Aer's default (as direct Aer) above."""

from __future__ import annotations

from typing import Any

from qiskit import QuantumCircuit, transpile

from openqx.devices.catalog import default_catalog
from openqx.execution import aer_cache, runner
from tests.unit.execution.helpers import ghz, request


def _state_threads(result: dict[str, Any]) -> int:
    threads: int = result["results"][0]["metadata"]["parallel_state_update"]
    return threads


def test_small_ideal_and_emulated_jobs_run_on_one_thread() -> None:
    small = ghz(aer_cache.SINGLE_THREAD_MAX_QUBITS)
    ideal = runner.run_request(request("ibmq_qasm_simulator", [small], shots=100))
    assert _state_threads(ideal) == 1
    device = default_catalog().get("fake_manila")
    isa = transpile(ghz(5), target=device.target(None), seed_transpiler=1)
    emulated = runner.run_request(request("fake_manila", [isa], shots=100))
    assert _state_threads(emulated) == 1


def test_larger_jobs_run_with_the_threads_direct_aer_uses() -> None:
    from qiskit_aer import AerSimulator

    circuit = QuantumCircuit(aer_cache.SINGLE_THREAD_MAX_QUBITS + 9)  # past Aer's threshold
    for qubit in range(circuit.num_qubits):
        circuit.rx(0.3 + 0.1 * qubit, qubit)  # not Clifford: a statevector run
    for qubit in range(circuit.num_qubits - 1):
        circuit.cx(qubit, qubit + 1)
    circuit.measure_all()
    ours = runner.run_request(request("ibmq_qasm_simulator", [circuit], shots=100))
    direct = AerSimulator().run(circuit, shots=100).result().to_dict()
    assert ours["results"][0]["metadata"]["method"] == "statevector"
    assert _state_threads(ours) == _state_threads(direct)


def test_the_thread_choice_stops_reading_a_circuit_once_enough_qubits_are_active() -> None:
    from openqx.execution.circuits import active_qubits

    circuit = QuantumCircuit(10, 1)
    circuit.barrier()  # touches every qubit, but a barrier is no work
    for qubit in range(8):
        circuit.h(qubit)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.x(9)  # only inside control flow
    assert active_qubits([circuit]) == frozenset(range(8)) | {9}
    assert active_qubits([circuit], beyond=2) == frozenset({0, 1, 2})  # the first three found
    assert active_qubits([circuit], beyond=8) == frozenset(range(8)) | {9}
    assert aer_cache.threads_for(
        active_qubits([circuit], beyond=aer_cache.SINGLE_THREAD_MAX_QUBITS)
    ) == aer_cache.threads_for(active_qubits([circuit]))


def test_a_seeded_ideal_job_gets_the_counts_direct_aer_gets_with_that_seed() -> None:
    from qiskit_aer import AerSimulator

    for circuit in (ghz(5), ghz(aer_cache.SINGLE_THREAD_MAX_QUBITS + 2)):  # one thread, all
        seeded = request(
            "ibmq_qasm_simulator", [circuit], shots=1024, options={"seed_simulator": 7}
        )
        ours = runner.run_request(seeded)["results"][0]["data"]["counts"]
        direct = AerSimulator().run(circuit, shots=1024, seed_simulator=7).result()
        assert ours == direct.to_dict()["results"][0]["data"]["counts"]
