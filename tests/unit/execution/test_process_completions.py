"""``ProcessExecutor`` completes futures on its own completion thread: a slow callback (the
scheduler records a job's end there) does not keep the worker from its next job, and a
future cancelled after its worker answered stays cancelled without breaking the thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import pytest

from openqx.execution.process import ProcessExecutor

from .helpers import ghz, request

WAIT_S = 60.0
"""Upper bound of every wait (a failing test ends instead of hanging)."""


@pytest.fixture
def executor() -> Iterator[ProcessExecutor]:
    with ProcessExecutor(1) as running:
        yield running


def _job(job_id: str, shots: int) -> Any:
    return request("simulator_statevector", [ghz(2)], shots=shots, job_id=job_id)


@contextlib.contextmanager
def _completions_held(executor: ProcessExecutor, job_id: str) -> Iterator[Future[dict[str, Any]]]:
    """Run job ``job_id`` (3 shots); inside the block its callback holds the completion thread
    (as a slow recording would), which is let go when the block ends. Yields its future."""
    entered = threading.Event()
    release = threading.Event()

    def hold(_: Future[dict[str, Any]]) -> None:
        entered.set()
        release.wait(WAIT_S)

    future = executor.submit(_job(job_id, 3))
    future.add_done_callback(hold)
    try:
        assert entered.wait(WAIT_S)
        yield future
    finally:
        release.set()


def test_the_next_job_runs_while_a_callback_of_the_last_one_still_blocks(
    executor: ProcessExecutor,
) -> None:
    with _completions_held(executor, "first") as first:
        # The one worker answered "first", whose callback blocks: "second" still goes to the
        # worker and is answered (its future completes once the callback is done).
        second = executor.submit(_job("second", 4))
        assert _answered(executor, "second")
        assert not second.done()
    assert first.result(WAIT_S)["results"][0]["shots"] == 3
    assert second.result(WAIT_S)["results"][0]["shots"] == 4


def _answered(executor: ProcessExecutor, job_id: str) -> bool:
    """Wait until a worker has run ``job_id`` and answered: it is neither pending nor held by
    a worker any more. (Waiting first for it to be running would race a quick answer.)"""

    def handed_and_answered() -> bool:
        pending = any(job[0].job_id == job_id for job in executor._pending)
        return not pending and executor.running_pid(job_id) is None

    with executor._lock:
        return executor._lock.wait_for(handed_and_answered, WAIT_S)


def test_callbacks_run_off_the_dispatch_thread_in_answer_order(
    executor: ProcessExecutor,
) -> None:
    seen: list[tuple[str, str]] = []
    futures = [executor.submit(_job(f"job{i}", 2 + i)) for i in range(3)]
    done = threading.Event()

    def note(job_id: str) -> Callable[[Future[dict[str, Any]]], None]:
        return lambda _: seen.append((job_id, threading.current_thread().name))

    for index, future in enumerate(futures):
        future.add_done_callback(note(f"job{index}"))
    futures[-1].add_done_callback(lambda _: done.set())
    assert done.wait(WAIT_S)
    assert [job for job, _ in seen] == ["job0", "job1", "job2"]  # one worker: in turn
    assert {thread for _, thread in seen} == {"openqx-process-completions"}


def test_a_future_cancelled_before_its_answer_is_delivered_stays_cancelled(
    executor: ProcessExecutor,
) -> None:
    with _completions_held(executor, "blocker"):
        # The completion thread is held by "blocker"'s callback; "late" is answered by the
        # worker and waits behind it, where a cancel finds no worker or queue to take it from.
        late = executor.submit(_job("late", 3))
        assert _answered(executor, "late")
        assert late.cancel()
    after = executor.submit(_job("after", 5))
    assert after.result(WAIT_S)["results"][0]["shots"] == 5  # the thread went on
    assert late.cancelled()
