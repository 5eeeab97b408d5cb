"""The user CLI's renderings: medians of a properties dict, counts of a result dict."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from openqx.client import user_cli_output as out
from openqx.core import wire


def _summary(**fields: Any) -> wire.BackendSummary:
    values: dict[str, Any] = {
        "name": "chip",
        "simulator": False,
        "num_qubits": 3,
        "operational": True,
        "status_msg": "active",
        "pending_jobs": 2,
        "backend_version": "1",
        "max_shots": 100,
        "max_experiments": 10,
    }
    values.update(fields)
    return wire.BackendSummary.model_validate(values)


def _qubit(t1: float, unit: str) -> list[dict[str, Any]]:
    return [{"name": "T1", "value": t1, "unit": unit}, {"name": "T2", "value": 1.0, "unit": "us"}]


def _gate(qubits: list[int], error: float) -> dict[str, Any]:
    return {"gate": "cx", "qubits": qubits, "parameters": [{"name": "gate_error", "value": error}]}


def test_backend_row_takes_medians_in_microseconds() -> None:
    properties = {
        "qubits": [_qubit(100.0, "us"), _qubit(0.0002, "s"), _qubit(300000.0, "ns")],
        "gates": [_gate([0], 0.5), _gate([0, 1], 0.01), _gate([1, 2], 0.03), _gate([1, 0], 0.02)],
    }
    row = out.backend_row(_summary(), properties)
    assert row["median_t1_us"] == 200.0
    assert row["median_two_qubit_error"] == 0.02
    assert row["pending_jobs"] == 2 and row["operational"] is True


def test_simulators_have_no_calibration() -> None:
    row = out.backend_row(_summary(simulator=True), None)
    assert row["median_t1_us"] is None and row["median_two_qubit_error"] is None
    console = Console(width=200, record=True)
    console.print(out.backends_table([row]))
    assert "simulator" in console.export_text()


def test_counts_of_decodes_hex_counts_and_refuses_other_results() -> None:
    result = {
        "backend_name": "chip",
        "backend_version": "1",
        "job_id": "j",
        "qobj_id": "j",
        "success": True,
        "date": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
        "results": [
            {
                "shots": 10,
                "success": True,
                "data": {"counts": {"0x0": 6, "0x3": 4}},
                "header": {"memory_slots": 2, "creg_sizes": [["meas", 2]]},
            }
        ],
    }
    assert out.counts_of(result) == [{"00": 6, "11": 4}]
    assert out.counts_of({"results": [{"data": {"memory": ["0x1"]}}]}) is None
    assert out.counts_of({"pubs": []}) is None


def test_histogram_sums_the_outcomes_it_leaves_out() -> None:
    counts = {format(value, "05b"): value + 1 for value in range(out.HISTOGRAM_ROWS + 3)}
    console = Console(width=200, record=True)
    console.print(out.histogram_table(counts, "histogram"))
    text = console.export_text()
    assert "(3 more)" in text and str(1 + 2 + 3) in text
