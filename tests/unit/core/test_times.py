"""The two meanings of a naive datetime: stored (UTC) and given by a user (local time)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from openqx.core.times import local_from_stored, utc_from_stored, utc_from_user

TOKYO = timezone(timedelta(hours=9))


@pytest.fixture
def local_time_is_tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC+9 (no daylight saving), whatever the machine's zone."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_stored_naive_datetime_is_utc(local_time_is_tokyo: None) -> None:
    assert utc_from_stored(datetime(2024, 5, 1, 12, 0)) == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_a_naive_datetime_from_a_user_is_local_time(local_time_is_tokyo: None) -> None:
    converted = utc_from_user(datetime(2024, 5, 1, 12, 0))
    assert converted == datetime(2024, 5, 1, 3, 0, tzinfo=UTC)
    assert converted.tzinfo is UTC


@pytest.mark.parametrize("convert", [utc_from_stored, utc_from_user])
def test_aware_datetimes_keep_their_moment(
    convert: Callable[[datetime], datetime], local_time_is_tokyo: None
) -> None:
    aware = datetime(2024, 5, 1, 12, 0, tzinfo=TOKYO)
    converted = convert(aware)
    assert converted == aware and converted.utcoffset() == timedelta(0)


def test_a_stored_value_is_shown_in_local_time(local_time_is_tokyo: None) -> None:
    shown = local_from_stored(datetime(2024, 5, 1, 12, 0))
    assert shown.utcoffset() == timedelta(hours=9)
    assert shown == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
