"""Cancelling a maintenance window that has not started, and the windows that hold a
project's jobs (``start_holds``), on every ``JobStore`` implementation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from openqx.core.clock import ManualClock
from openqx.core.errors import InvalidStateError, NotFoundError
from openqx.store.device_schedule import reservation_admits
from openqx.store.sql_store import SqlJobStore
from tests.integration.store.conftest import JobFactory, UserFactory

BACKEND = "fake_belem"
A, B = "hub/group/a", "hub/group/b"
HOUR = timedelta(hours=1)


def test_a_future_window_is_cancelled_and_never_holds_the_device(
    store: SqlJobStore, clock: ManualClock, job_factory: JobFactory
) -> None:
    job = job_factory(backend=BACKEND)
    start = clock.now() + HOUR
    window = store.start_maintenance(
        BACKEND, message="", created_by="root", start=start, end=start + HOUR
    )
    kept = store.start_maintenance(
        "fake_manila", message="", created_by="root", start=start, end=start + HOUR
    )
    assert store.cancel_maintenance(window.id) == window
    assert [w.id for w in store.list_maintenance()] == [kept.id]
    clock.advance(HOUR.total_seconds() + 1)
    assert store.device_maintenance(BACKEND) is None
    claimed = store.claim_next(BACKEND, "w", 60)
    assert claimed is not None and claimed.id == job.id
    with pytest.raises(NotFoundError, match="no maintenance window"):
        store.cancel_maintenance(window.id)  # gone


def test_unknown_started_and_ended_windows_are_refused(
    store: SqlJobStore, clock: ManualClock
) -> None:
    with pytest.raises(NotFoundError, match="no maintenance window 'nope'"):
        store.cancel_maintenance("nope")
    current = store.start_maintenance(BACKEND, message="x", created_by="root")
    with pytest.raises(InvalidStateError, match=f"maintenance-end {BACKEND}"):
        store.cancel_maintenance(current.id)
    assert store.device_maintenance(BACKEND) == current  # still there
    store.end_maintenance(BACKEND)
    clock.advance(1)
    with pytest.raises(InvalidStateError, match="already over"):
        store.cancel_maintenance(current.id)


def test_start_holds_are_maintenance_and_other_projects_reservations(
    store: SqlJobStore, clock: ManualClock, user_factory: UserFactory
) -> None:
    user_factory(instances=[A, B])
    now = clock.now()
    store.start_maintenance(BACKEND, message="", created_by="root", end=now + HOUR)
    store.start_maintenance(BACKEND, message="", created_by="root", start=now + 3 * HOUR, end=None)
    store.create_reservation(BACKEND, A, now + HOUR, now + 2 * HOUR, created_by="root")
    store.create_reservation(BACKEND, B, now + 2 * HOUR, now + 3 * HOUR, created_by="root")
    store.create_reservation("fake_manila", B, now, now + HOUR, created_by="root")
    holds = store.start_holds(BACKEND, A)
    assert holds.maintenance == [(now, now + HOUR), (now + 3 * HOUR, None)]
    assert holds.reservations == [(now + 2 * HOUR, now + 3 * HOUR)]  # B's, not A's own
    assert store.start_holds(BACKEND, B).reservations == [(now + HOUR, now + 2 * HOUR)]
    clock.advance(2.5 * HOUR.total_seconds())  # over: no longer listed
    later = store.start_holds(BACKEND, A)
    assert later.maintenance == [(now + 3 * HOUR, None)]
    assert later.reservations == [(now + 2 * HOUR, now + 3 * HOUR)]


def test_a_reservation_admits_only_its_instance() -> None:
    assert reservation_admits(None, A)
    assert reservation_admits(A, A)
    assert not reservation_admits(B, A)
