"""IBM-style ideal cloud simulators (``ibmq_qasm_simulator``, ``simulator_statevector``, ...).

The configurations follow the IBM ``BackendConfiguration`` schema (they load with
``qiskit_ibm_runtime.models.BackendConfiguration.from_dict``) and carry one extra key,
``simulation_method``, the Aer method the simulator runs with.
"""

from __future__ import annotations

from typing import Any

from openqx.devices.device import Device

__all__ = ["SIMULATOR_SPECS", "SimulatorSpec", "simulator_configuration", "simulator_device"]

_CONTROL_FLOW = ["if_else", "while_loop", "for_loop", "switch_case"]
_NON_GATES = ["measure", "reset", "delay", *_CONTROL_FLOW]

# Gates each Aer method executes natively that qiskit's standard gate mapping also knows
# (qiskit_aer.backends.backend_utils.BASIS_GATES ∩ get_standard_gate_name_mapping(), 0.18.2);
# spelled out so the catalog does not import Aer.
_UNIVERSAL = [
    "ccx", "ccz", "cp", "crx", "cry", "crz", "cswap", "csx", "cu", "cu1", "cu3", "cx", "cy",
    "cz", "ecr", "h", "id", "p", "r", "rx", "rxx", "ry", "ryy", "rz", "rzx", "rzz", "s", "sdg",
    "swap", "sx", "sxdg", "t", "tdg", "u", "u1", "u2", "u3", "x", "y", "z",
]  # fmt: skip
_MPS = [g for g in _UNIVERSAL if g not in {"ccz", "crx", "cry", "crz", "cu", "cu1", "cu3"}]
_CLIFFORD = [
    "cx", "cy", "cz", "ecr", "h", "id", "s", "sdg", "swap", "sx", "sxdg", "x", "y", "z",
]  # fmt: skip


class SimulatorSpec:
    """What distinguishes one ideal simulator from another."""

    def __init__(
        self, name: str, method: str, num_qubits: int, gates: list[str], description: str
    ) -> None:
        self.name = name
        self.method = method
        self.num_qubits = num_qubits
        self.gates = gates
        self.description = description


# 28 qubits for the dense methods: a 28-qubit statevector is 2^28 complex128 = 4.3 GiB and a
# random depth-20 circuit takes about 1 min on the 2-core, 24 GiB reference machine
# (stack-measurements §3); 30 qubits would need 16 GiB and several minutes per job.
SIMULATOR_SPECS: tuple[SimulatorSpec, ...] = (
    SimulatorSpec(
        "ibmq_qasm_simulator",
        "automatic",
        28,
        _UNIVERSAL,
        "A general-purpose simulator; Aer picks the method per circuit.",
    ),
    SimulatorSpec(
        "simulator_statevector",
        "statevector",
        28,
        _UNIVERSAL,
        "Schrödinger wavefunction simulator (dense statevector).",
    ),
    SimulatorSpec(
        "simulator_mps",
        "matrix_product_state",
        100,
        _MPS,
        "Matrix product state simulator; fast for circuits with little entanglement.",
    ),
    SimulatorSpec(
        "simulator_stabilizer",
        "stabilizer",
        5000,
        _CLIFFORD,
        "Clifford (stabilizer) simulator; Clifford gates only.",
    ),
)


def simulator_configuration(spec: SimulatorSpec) -> dict[str, Any]:
    """Return the IBM ``BackendConfiguration`` JSON of an ideal simulator."""
    basis = [*spec.gates, *_NON_GATES]
    return {
        "backend_name": spec.name,
        "backend_version": "0.1.0",
        "n_qubits": spec.num_qubits,
        "basis_gates": basis,
        "gates": [{"name": g, "parameters": [], "qasm_def": ""} for g in spec.gates],
        "local": False,
        "simulator": True,
        "conditional": True,
        "open_pulse": False,
        "memory": True,
        "max_shots": 100_000,
        "max_experiments": 300,
        "coupling_map": None,
        "supported_instructions": basis,
        "description": spec.description,
        "online_date": "2021-01-01T00:00:00+00:00",
        "simulation_method": spec.method,
        "n_registers": 1,
        "credits_required": False,
    }


def simulator_device(spec: SimulatorSpec) -> Device:
    """Return the catalog device of an ideal simulator."""
    return Device(
        name=spec.name,
        configuration=simulator_configuration(spec),
        simulator=True,
        simulation_method=spec.method,
    )
