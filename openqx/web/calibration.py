"""Numbers the device pages show, read from IBM ``BackendProperties`` JSON: per-qubit and
per-gate errors, their medians, and the coupling map drawn as an inline SVG coloured by them."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Any

__all__ = [
    "CalibrationSummary",
    "coupling_map_svg",
    "edge_errors",
    "qubit_values",
    "summarize",
]

_TWO_QUBIT_GATES = ("cx", "ecr", "cz")
_SCALE = {"us": 1.0, "µs": 1.0, "ns": 1e-3, "ms": 1e3, "s": 1e6}


@dataclass(frozen=True)
class CalibrationSummary:
    """Medians over the qubits and gates of one snapshot (None where the snapshot lacks it)."""

    t1_us: float | None
    t2_us: float | None
    readout_error: float | None
    gate_error_1q: float | None
    gate_error_2q: float | None


def qubit_values(properties: dict[str, Any], name: str) -> dict[int, float]:
    """Each qubit's value of ``name`` (``T1``/``T2`` in µs, errors as probabilities)."""
    found: dict[int, float] = {}
    for index, entries in enumerate(properties.get("qubits") or []):
        for entry in entries or []:
            if entry.get("name") == name and isinstance(entry.get("value"), int | float):
                value = float(entry["value"])
                if name in ("T1", "T2"):
                    value *= _SCALE.get(str(entry.get("unit", "us")), 1.0)
                if math.isfinite(value):
                    found[index] = value
    return found


def _gate_error(gate: dict[str, Any]) -> float | None:
    for parameter in gate.get("parameters") or []:
        value = parameter.get("value")
        if parameter.get("name") == "gate_error" and isinstance(value, int | float):
            value = float(value)
            return value if math.isfinite(value) else None
    return None


def edge_errors(properties: dict[str, Any]) -> dict[tuple[int, int], float]:
    """The two-qubit gate error of each coupled pair (the smaller of both directions)."""
    found: dict[tuple[int, int], float] = {}
    for gate in properties.get("gates") or []:
        qubits = gate.get("qubits") or []
        if gate.get("gate") not in _TWO_QUBIT_GATES or len(qubits) != 2:
            continue
        error = _gate_error(gate)
        if error is None:
            continue
        a, b = sorted(int(q) for q in qubits)
        found[(a, b)] = min(error, found.get((a, b), error))
    return found


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize(properties: dict[str, Any] | None) -> CalibrationSummary:
    """Medians of T1, T2, readout error and one- and two-qubit gate errors."""
    if not properties:
        return CalibrationSummary(None, None, None, None, None)
    one_qubit = [
        error
        for gate in properties.get("gates") or []
        if len(gate.get("qubits") or []) == 1 and gate.get("gate") not in ("id", "reset")
        for error in [_gate_error(gate)]
        if error is not None
    ]
    return CalibrationSummary(
        t1_us=_median(list(qubit_values(properties, "T1").values())),
        t2_us=_median(list(qubit_values(properties, "T2").values())),
        readout_error=_median(list(qubit_values(properties, "readout_error").values())),
        gate_error_1q=_median(one_qubit),
        gate_error_2q=_median(list(edge_errors(properties).values())),
    )


def _colour(value: float | None, worst: float) -> str:
    """Green (0) to red (``worst`` or more); grey when unknown."""
    if value is None:
        return "#9aa0a6"
    share = max(0.0, min(1.0, value / worst)) if worst > 0 else 0.0
    hue = 120 * (1 - share)
    return f"hsl({hue:.0f},70%,42%)"


def _crossings(points: Sequence[tuple[float, float]], edges: Sequence[tuple[int, int]]) -> int:
    """How many pairs of edges without a common qubit cross in this drawing."""

    def side(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    count = 0
    for i, (a, b) in enumerate(edges):
        for c, d in edges[i + 1 :]:
            if len({a, b, c, d}) < 4:
                continue
            pa, pb, pc, pd = points[a], points[b], points[c], points[d]
            if side(pa, pb, pc) * side(pa, pb, pd) < 0 and side(pc, pd, pa) * side(pc, pd, pb) < 0:
                count += 1
    return count


LAYOUT_SEEDS = 6
"""Spring layouts tried per device; the one with the fewest crossing couplers is drawn."""


@lru_cache(maxsize=128)
def _layout(num_qubits: int, edges: tuple[tuple[int, int], ...]) -> tuple[tuple[float, float], ...]:
    """Positions in [0, 1]² from seeded spring layouts (the same drawing every time)."""
    import rustworkx as rx

    if num_qubits == 1:
        return ((0.5, 0.5),)
    graph = rx.PyGraph()
    graph.add_nodes_from(range(num_qubits))
    graph.add_edges_from_no_data(list(edges))
    best: tuple[int, tuple[tuple[float, float], ...]] | None = None
    for seed in range(LAYOUT_SEEDS):
        raw = rx.spring_layout(graph, seed=seed, num_iter=300)
        xs = [raw[i][0] for i in range(num_qubits)]
        ys = [raw[i][1] for i in range(num_qubits)]
        span_x = (max(xs) - min(xs)) or 1.0
        span_y = (max(ys) - min(ys)) or 1.0
        points = tuple(
            ((xs[i] - min(xs)) / span_x, (ys[i] - min(ys)) / span_y) for i in range(num_qubits)
        )
        crossings = _crossings(points, edges)
        if best is None or crossings < best[0]:
            best = (crossings, points)
        if crossings == 0:
            break
    assert best is not None
    return best[1]


def coupling_map_svg(
    num_qubits: int,
    coupling_map: Sequence[Sequence[int]],
    properties: dict[str, Any] | None,
    *,
    size: int = 560,
) -> str:
    """The coupling map as an SVG element: qubits coloured by readout error, couplers by
    two-qubit gate error (green good, red at 5 % readout / 5 % gate error), each with a
    tooltip (``<title>``) giving the numbers."""
    edges = tuple(sorted({tuple(sorted((int(a), int(b)))) for a, b in coupling_map}))  # type: ignore[misc]
    positions = _layout(num_qubits, edges)  # type: ignore[arg-type]
    readout = qubit_values(properties or {}, "readout_error")
    t1 = qubit_values(properties or {}, "T1")
    couplers = edge_errors(properties or {})
    size = max(size, int(64 * math.sqrt(num_qubits)))  # room for large devices
    margin = 24
    radius = max(6, min(16, int(size / (4 * max(1, math.sqrt(num_qubits))))))
    inner = size - 2 * margin

    def point(q: int) -> tuple[float, float]:
        x, y = positions[q]
        return margin + x * inner, margin + y * inner

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'width="{size}" height="{size}" role="img" class="coupling-map" '
        f'aria-label="Coupling map of {num_qubits} qubits">'
    ]
    for a, b in edges:
        (x1, y1), (x2, y2) = point(a), point(b)
        error = couplers.get((a, b))
        text = f"{a}–{b}: 2-qubit error " + (f"{error:.2%}" if error is not None else "unknown")
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{_colour(error, 0.05)}" stroke-width="{max(2, radius // 2)}" '
            f'data-edge="{a}-{b}"><title>{escape(text)}</title></line>'
        )
    for q in range(num_qubits):
        x, y = point(q)
        error = readout.get(q)
        text = f"Q{q}: readout error " + (f"{error:.2%}" if error is not None else "unknown")
        if q in t1:
            text += f", T1 {t1[q]:.0f} µs"
        parts.append(
            f'<g data-qubit="{q}"><title>{escape(text)}</title>'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{_colour(error, 0.05)}" '
            f'stroke="#202124" stroke-width="1"/>'
            f'<text x="{x:.1f}" y="{y + radius * 0.35:.1f}" text-anchor="middle" '
            f'font-size="{max(7, radius - 3)}" fill="#fff">{q}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
