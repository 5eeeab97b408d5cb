"""The dashboard's plain parts: sessions, the filter form, calibration numbers and the map."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import QueryParams

from openqx.core.clock import ManualClock
from openqx.web import calibration
from openqx.web.filters import parse_filter
from openqx.web.sessions import SessionStore


def test_sessions_expire_unless_used_and_close() -> None:
    clock = ManualClock()
    store = SessionStore(clock, lifetime_seconds=100)
    first, second = store.open("ada", "hash-a"), store.open("bob", "hash-b")
    assert first.id != second.id and first.csrf != second.csrf and len(first.id) >= 40
    clock.advance(60)
    assert store.get(first.id) is first  # used: expires 100 s from now
    clock.advance(60)
    assert store.get(first.id) is first
    assert store.get(second.id) is None  # unused for 120 s
    assert len(store) == 1
    store.close(first.id)
    assert store.get(first.id) is None
    assert store.get(None) is None and store.get("") is None


def test_csrf_comparison() -> None:
    session = SessionStore(ManualClock()).open("ada", "hash-a")
    assert session.csrf_matches(session.csrf)
    assert not session.csrf_matches(None)
    assert not session.csrf_matches(session.csrf + "x")


def test_filter_form_becomes_the_api_query() -> None:
    params = QueryParams(
        "backend=fake_manila&status=DONE&status=ERROR&name=bell&tags=a,%20b&tags_operator=AND"
        "&start=2026-01-02&end=2026-01-03T12:30&scope=all&cursor=abc"
    )
    job_filter = parse_filter(params)
    assert job_filter.problems == {}
    query = job_filter.query
    assert query is not None
    assert query.backend == "fake_manila" and query.name == "bell"
    assert [s.value for s in query.status or []] == ["DONE", "ERROR"]
    assert query.tags == ["a", "b"] and query.tags_operator == "AND"
    assert query.start_datetime is not None and query.start_datetime.isoformat() == (
        "2026-01-02T00:00:00+00:00"
    )
    assert query.end_datetime is not None and query.end_datetime.hour == 12
    assert query.cursor == "abc" and job_filter.scope == "all"
    assert "cursor" not in job_filter.link(cursor=None)
    assert "cursor=next" in job_filter.link(cursor="next")


def test_filter_form_problems_name_their_field() -> None:
    job_filter = parse_filter(QueryParams("status=NOPE&start=2026-02-30&scope=x"))
    assert job_filter.query is None
    assert set(job_filter.problems) == {"status", "start", "scope"}
    long_backend = parse_filter(QueryParams("backend=" + "b" * 300))
    assert long_backend.query is None and "backend" in long_backend.problems


def _properties() -> dict[str, Any]:
    def qubit(t1: float, readout: float) -> list[dict[str, Any]]:
        return [
            {"name": "T1", "unit": "us", "value": t1},
            {"name": "T2", "unit": "ns", "value": 50_000.0},
            {"name": "readout_error", "unit": "", "value": readout},
        ]

    def gate(name: str, qubits: list[int], error: float) -> dict[str, Any]:
        return {
            "gate": name,
            "qubits": qubits,
            "parameters": [{"name": "gate_error", "unit": "", "value": error}],
        }

    return {
        "qubits": [qubit(100, 0.01), qubit(200, 0.03), qubit(300, 0.02)],
        "gates": [
            gate("sx", [0], 0.001),
            gate("sx", [1], 0.003),
            gate("cx", [0, 1], 0.02),
            gate("cx", [1, 0], 0.01),
            gate("cx", [1, 2], 0.04),
            gate("id", [2], 0.9),
        ],
    }


def test_medians_and_per_pair_errors() -> None:
    summary = calibration.summarize(_properties())
    assert summary.t1_us == 200 and summary.t2_us == 50  # ns converted to µs
    assert summary.readout_error == 0.02
    assert summary.gate_error_1q == 0.002  # id gates left out
    assert calibration.edge_errors(_properties()) == {(0, 1): 0.01, (1, 2): 0.04}
    assert summary.gate_error_2q == 0.025
    assert calibration.summarize(None).t1_us is None


def test_coupling_map_svg_colours_and_labels() -> None:
    svg = calibration.coupling_map_svg(3, [[0, 1], [1, 0], [1, 2]], _properties())
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("data-qubit=") == 3 and svg.count("data-edge=") == 2
    assert "Q1: readout error 3.00%" in svg and "1–2: 2-qubit error 4.00%" in svg
    assert "hsl(0,70%,42%)" not in svg.split('data-edge="0-1"')[0]  # 1 % is not red
    unknown = calibration.coupling_map_svg(2, [[0, 1]], None)
    assert "unknown" in unknown and "#9aa0a6" in unknown
