"""The pure rules behind the hostile-input fixes: shots of a precision, snapshot dates, cursors."""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime

import pytest

from openqx.core.errors import InvalidFilterError
from openqx.core.primitives import shots_for_precision
from openqx.devices.snapshots import parse_datetime
from openqx.store.cursor import Cursor, decode_cursor, encode_cursor


@pytest.mark.parametrize(
    ("precision", "shots"),
    [(0.015625, 4096), (0.1, 100), (1.0, 1), (1e200, 1), (1e-3, 1_000_000)],
)
def test_shots_for_precision(precision: float, shots: int) -> None:
    assert shots_for_precision(precision) == shots


def test_the_finest_representable_precision_still_has_a_shot_count() -> None:
    assert shots_for_precision(1e-154) > 10**307


@pytest.mark.parametrize(
    "precision", [1e-155, 1e-160, 1e-200, 5e-324, 0.0, -1.0, math.inf, math.nan]
)
def test_a_precision_without_a_shot_count_is_a_value_error(precision: float) -> None:
    with pytest.raises(ValueError, match="precision"):
        shots_for_precision(precision)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_a_snapshot_date_outside_utc_is_a_value_error(value: str) -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_datetime(value)


def test_a_snapshot_date_at_the_edges_of_utc_parses() -> None:
    assert parse_datetime("0001-01-01T00:00:00Z") == datetime(1, 1, 1, tzinfo=UTC)
    assert parse_datetime("9999-12-31T23:59:59+00:00").year == 9999


def _raw(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_a_cursor_round_trips() -> None:
    cursor = Cursor(datetime(2024, 5, 1, 12, tzinfo=UTC), "job-1", descending=True)
    assert decode_cursor(encode_cursor(cursor)) == cursor


@pytest.mark.parametrize(
    "data",
    [
        {"t": "9999-12-31T23:59:59-05:00", "i": "x", "d": True},
        {"t": "2024-01-01T00:00:00", "i": ["x"], "d": True},
        {"t": "2024-01-01T00:00:00", "i": "x", "d": "yes"},
        {"t": "2024-01-01T00:00:00", "i": "x", "d": 1},
        {"t": "2024-01-01T00:00:00", "i": "x" * 257, "d": True},
        {"t": "2024-01-01T00:00:00", "i": "x", "d": True, "extra": 1},
        {"t": "2024-01-01T00:00:00", "i": "x"},
        "just text",
    ],
)
def test_a_malformed_cursor_is_an_invalid_filter(data: object) -> None:
    with pytest.raises(InvalidFilterError, match="Invalid cursor"):
        decode_cursor(_raw(data))
