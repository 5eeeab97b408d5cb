"""Small device definitions for fast device tests (two or three qubits, IBM JSON shapes)."""

from __future__ import annotations

from typing import Any

ANCHOR_DATE = "2026-01-01T00:00:00+00:00"


def _nduv(name: str, value: float, unit: str = "", date: str = ANCHOR_DATE) -> dict[str, Any]:
    return {"date": date, "name": name, "unit": unit, "value": value}


def small_properties(
    num_qubits: int = 2,
    date: str = ANCHOR_DATE,
    t1_us: float = 100.0,
    t2_us: float = 80.0,
    frequency_ghz: float = 5.0,
) -> dict[str, Any]:
    """A ``BackendProperties`` JSON dict of a line of ``num_qubits`` qubits coupled by cx."""
    qubits = [
        [
            _nduv("T1", t1_us + 10 * q, "us", date),
            _nduv("T2", t2_us + 5 * q, "us", date),
            _nduv("frequency", frequency_ghz + 0.1 * q, "GHz", date),
            _nduv("anharmonicity", -0.34, "GHz", date),
            _nduv("readout_error", 0.03, "", date),
            _nduv("prob_meas0_prep1", 0.04, "", date),
            _nduv("prob_meas1_prep0", 0.02, "", date),
            _nduv("readout_length", 4000.0, "ns", date),
        ]
        for q in range(num_qubits)
    ]
    gates: list[dict[str, Any]] = []
    for q in range(num_qubits):
        for name, error, length in (
            ("id", 3e-4, 35.5),
            ("rz", 0.0, 0.0),
            ("sx", 3e-4, 35.5),
            ("x", 3e-4, 35.5),
        ):
            gates.append(
                {
                    "qubits": [q],
                    "gate": name,
                    "parameters": [
                        _nduv("gate_error", error, "", date),
                        _nduv("gate_length", length, "ns", date),
                    ],
                    "name": f"{name}{q}",
                }
            )
    for q in range(num_qubits - 1):
        for a, b in ((q, q + 1), (q + 1, q)):
            gates.append(
                {
                    "qubits": [a, b],
                    "gate": "cx",
                    "parameters": [
                        _nduv("gate_error", 8e-3, "", date),
                        _nduv("gate_length", 300.0, "ns", date),
                    ],
                    "name": f"cx{a}_{b}",
                }
            )
    return {
        "backend_name": "small",
        "backend_version": "1.0.0",
        "last_update_date": date,
        "qubits": qubits,
        "gates": gates,
        "general": [],
    }


def small_configuration(num_qubits: int = 2) -> dict[str, Any]:
    """A ``BackendConfiguration`` JSON dict matching ``small_properties``."""
    coupling = [[q, q + 1] for q in range(num_qubits - 1)] + [
        [q + 1, q] for q in range(num_qubits - 1)
    ]
    basis = ["cx", "id", "rz", "sx", "x"]
    return {
        "backend_name": "small",
        "backend_version": "1.0.0",
        "n_qubits": num_qubits,
        "basis_gates": basis,
        "gates": [{"name": g, "parameters": [], "qasm_def": ""} for g in basis],
        "local": False,
        "simulator": False,
        "conditional": False,
        "open_pulse": True,
        "memory": True,
        "max_shots": 100000,
        "max_experiments": 300,
        "coupling_map": coupling,
        "meas_levels": [1, 2],
        "qubit_lo_range": [[4.5 + 0.1 * q, 5.5 + 0.1 * q] for q in range(num_qubits)],
        "meas_lo_range": [[6.5 + 0.1 * q, 7.5 + 0.1 * q] for q in range(num_qubits)],
        "meas_kernels": ["hw_qmfk"],
        "discriminators": ["linear_discriminator"],
        "dt": 0.2222222222222222,
        "online_date": "2026-01-01T00:00:00+00:00",
        "description": "a small test chip",
    }
