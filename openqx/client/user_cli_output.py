"""What the user commands print: ``rich`` tables and histograms for people, JSON for scripts.

Everything here turns data the commands already fetched into text; nothing talks to the
server.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from openqx.core import wire
from openqx.core.times import local_from_stored

__all__ = [
    "BAR_WIDTH",
    "HISTOGRAM_ROWS",
    "BackendRow",
    "backend_row",
    "backends_table",
    "counts_of",
    "histogram_table",
    "job_table",
    "jobs_table",
    "print_json",
    "print_primitive_result",
    "steps_table",
]

BAR_WIDTH = 40
"""Characters of the longest histogram bar."""
HISTOGRAM_ROWS = 16
"""Outcomes shown per histogram; the rest are summed in one line."""

BackendRow = dict[str, Any]
"""One backend as ``openqx backends --json`` prints it."""

_TIME_UNITS = {"s": 1e6, "ms": 1e3, "us": 1.0, "µs": 1.0, "ns": 1e-3}
"""Factor from a properties time unit to microseconds."""


def print_json(data: Any, *, one_line: bool = False) -> None:
    """Print ``data`` as JSON on stdout (times as ISO strings): indented, or on one line (a
    stream of events, one per line)."""
    sys.stdout.write(json.dumps(data, indent=None if one_line else 2, default=str) + "\n")
    sys.stdout.flush()


def _when(value: datetime | None) -> str:
    return local_from_stored(value).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


# --- backends -----------------------------------------------------------------------------


def _median_t1_us(properties: Mapping[str, Any]) -> float | None:
    values = []
    for qubit in properties.get("qubits") or []:
        for item in qubit:
            if item.get("name") == "T1" and isinstance(item.get("value"), int | float):
                values.append(item["value"] * _TIME_UNITS.get(item.get("unit", "us"), 1.0))
    return statistics.median(values) if values else None


def _median_two_qubit_error(properties: Mapping[str, Any]) -> float | None:
    values = []
    for gate in properties.get("gates") or []:
        if len(gate.get("qubits") or []) != 2:
            continue
        for parameter in gate.get("parameters") or []:
            value = parameter.get("value")
            if parameter.get("name") == "gate_error" and isinstance(value, int | float):
                values.append(float(value))
    return statistics.median(values) if values else None


def backend_row(summary: wire.BackendSummary, properties: Mapping[str, Any] | None) -> BackendRow:
    """One backend with its median T1 (µs) and median two-qubit gate error (devices only)."""
    return {
        "name": summary.name,
        "num_qubits": summary.num_qubits,
        "simulator": summary.simulator,
        "operational": summary.operational,
        "status_msg": summary.status_msg,
        "pending_jobs": summary.pending_jobs,
        "median_t1_us": _median_t1_us(properties) if properties else None,
        "median_two_qubit_error": _median_two_qubit_error(properties) if properties else None,
    }


def backends_table(rows: Sequence[BackendRow]) -> Table:
    """The table of ``openqx backends``."""
    table = Table(title=f"{len(rows)} backends")
    for name, justify in (
        ("name", "left"),
        ("qubits", "right"),
        ("kind", "left"),
        ("status", "left"),
        ("pending jobs", "right"),
        ("median T1 (µs)", "right"),
        ("median 2q error", "right"),
    ):
        table.add_column(name, justify=justify, no_wrap=name == "name")  # type: ignore[arg-type]
    for row in rows:
        t1, error = row["median_t1_us"], row["median_two_qubit_error"]
        status = row["status_msg"] if row["operational"] else f"[red]{row['status_msg']}[/red]"
        table.add_row(
            row["name"],
            str(row["num_qubits"]),
            "simulator" if row["simulator"] else "device",
            status,
            str(row["pending_jobs"]),
            f"{t1:.1f}" if t1 is not None else "-",
            f"{error:.2e}" if error is not None else "-",
        )
    return table


# --- jobs ---------------------------------------------------------------------------------


def jobs_table(jobs: Sequence[wire.JobInfo]) -> Table:
    """The table of ``openqx jobs``."""
    table = Table(title=f"{len(jobs)} jobs")
    for name in ("id", "backend", "status", "name", "created", "tags"):
        table.add_column(name, overflow="fold")
    for info in jobs:
        table.add_row(
            info.id,
            info.backend,
            info.status.name,
            info.name or "",
            _when(info.created_at),
            ", ".join(info.tags),
        )
    return table


def job_table(info: wire.JobInfo, queue: wire.QueueInfo | None) -> Table:
    """The facts of one job, as two columns."""
    table = Table(show_header=False, title=f"job {info.id}")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    rows: list[tuple[str, str]] = [
        ("status", info.status.name),
        ("backend", info.backend),
        ("kind", info.kind if not info.program_id else f"{info.kind} ({info.program_id})"),
        ("name", info.name or "-"),
        ("tags", ", ".join(info.tags) or "-"),
        ("instance", info.instance),
        ("circuits", str(info.num_circuits)),
        ("shots", str(info.shots) if info.shots is not None else "-"),
        ("created", _when(info.created_at)),
    ]
    if queue is not None or info.queue_position is not None:
        position = queue.position if queue is not None else info.queue_position
        rows.append(("queue position", str(position) if position is not None else "-"))
    if queue is not None:  # no estimate: held by a maintenance window without an end
        for label, moment in (
            ("estimated start", queue.estimated_start_time),
            ("estimated end", queue.estimated_complete_time),
        ):
            rows.append((label, _when(moment) if moment is not None else "unknown"))
    if info.error is not None:
        rows.append(("error", f"{info.error.code}: {info.error.message}"))
    for key, value in rows:
        table.add_row(key, value)
    return table


def steps_table(info: wire.JobInfo) -> Table | None:
    """When the job entered each step, and how long after creation (``None``: no steps)."""
    if not info.time_per_step:
        return None
    table = Table(title="time per step")
    table.add_column("step")
    table.add_column("at")
    table.add_column("after creation", justify="right")
    for step, when in sorted(info.time_per_step.items(), key=lambda item: item[1]):
        seconds = (when - info.created_at).total_seconds()
        table.add_row(step, _when(when), f"{seconds:.2f} s")
    return table


# --- results ------------------------------------------------------------------------------


def counts_of(result: Mapping[str, Any]) -> list[dict[str, int]] | None:
    """The counts of each experiment of a qiskit ``Result`` dict as bit strings, or ``None``
    when the result holds no counts (level-0/1 data, or not a circuit result)."""
    experiments = result.get("results")
    if not isinstance(experiments, list) or not experiments:
        return None
    if not all(isinstance(e, dict) and "counts" in (e.get("data") or {}) for e in experiments):
        return None
    from qiskit.result import Result

    try:
        decoded = Result.from_dict(dict(result))
        return [dict(decoded.get_counts(index)) for index in range(len(experiments))]
    except Exception:  # a result qiskit cannot read: shown as JSON instead
        return None


def histogram_table(counts: Mapping[str, int], title: str) -> Table:
    """The most frequent outcomes with their share and a bar."""
    total = sum(counts.values()) or 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    table = Table(title=title)
    table.add_column("outcome")
    table.add_column("count", justify="right")
    table.add_column("share", justify="right")
    table.add_column("")
    for outcome, count in ordered[:HISTOGRAM_ROWS]:
        bar = "█" * max(1, round(BAR_WIDTH * count / total))
        table.add_row(outcome, str(count), f"{100 * count / total:.1f}%", bar)
    if len(ordered) > HISTOGRAM_ROWS:
        rest = sum(count for _, count in ordered[HISTOGRAM_ROWS:])
        table.add_row(f"({len(ordered) - HISTOGRAM_ROWS} more)", str(rest), "", "")
    return table


def print_primitive_result(console: Console, data: Mapping[str, Any]) -> None:
    """A sampler job's histograms (per PUB and classical register, over the PUB's parameter
    sets), an estimator job's expectation values with their standard errors."""
    from qiskit.primitives import BitArray

    from openqx.core import primitives as codec

    for index, pub in enumerate(codec.decode_result(data)):
        fields = {name: pub.data[name] for name in pub.data}
        arrays = {name: value for name, value in fields.items() if isinstance(value, BitArray)}
        for name, bits in arrays.items():
            console.print(histogram_table(bits.get_counts(), f"PUB {index}, register {name}"))
        if "evs" in fields:
            evs, stds = fields["evs"], fields.get("stds")
            console.print(f"PUB {index}: expectation values {evs.tolist()}", highlight=False)
            if stds is not None:
                console.print(f"PUB {index}: standard errors {stds.tolist()}", highlight=False)
