"""``ProcessExecutor`` under faults: a request that cannot be pickled is refused by ``submit``
(its job only), a failing pass of the dispatch thread is survived, and a dispatch thread that
dies anyway is restarted by the supervisor; jobs keep running through all of it."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest

from openqx.execution import process
from openqx.execution.port import ExecutionError
from openqx.execution.process import ProcessExecutor

from .helpers import ghz, request

WAIT_S = 60.0
"""Upper bound of every wait (a failing test ends instead of hanging)."""


def _nested(depth: int) -> dict[str, Any]:
    header: dict[str, Any] = {}
    level = header
    for _ in range(depth - 1):
        level["a"] = {}
        level = level["a"]
    return header


def _shots(executor: ProcessExecutor, job_id: str, shots: int) -> int:
    job = request("simulator_statevector", [ghz(2)], shots=shots, job_id=job_id)
    return int(executor.submit(job).result(WAIT_S)["results"][0]["shots"])


@pytest.fixture
def executor() -> Any:
    with ProcessExecutor(1) as running:
        yield running


def test_a_request_too_deep_to_pickle_is_refused_and_the_next_job_runs(
    executor: ProcessExecutor,
) -> None:
    deep = dataclasses.replace(
        request("simulator_statevector", [ghz(2)], job_id="deep"), header=_nested(500)
    )
    with pytest.raises(ExecutionError) as refused:
        executor.submit(deep)
    assert refused.value.code == "start_failed"
    assert "RecursionError" in refused.value.message
    assert _shots(executor, "next", 7) == 7


def test_a_failing_dispatch_pass_is_survived(
    executor: ProcessExecutor, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_pass = executor._dispatch_pass
    failures = iter([RuntimeError("injected fault")])

    def failing_once() -> bool:
        for error in failures:
            raise error
        return real_pass()

    monkeypatch.setattr(executor, "_dispatch_pass", failing_once)
    executor._wake()
    with caplog.at_level(logging.ERROR, logger=process.__name__):
        assert _shots(executor, "after-fault", 5) == 5
    assert "executor dispatch pass failed" in caplog.text
    assert executor.restarts == 0  # the same thread went on


def test_a_dead_dispatch_thread_is_restarted_by_the_supervisor(
    executor: ProcessExecutor, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_pass = executor._dispatch_pass
    failures = iter([SystemExit("injected: the thread ends")])

    def dying_once() -> bool:
        for error in failures:
            raise error
        return real_pass()

    monkeypatch.setattr(executor, "_dispatch_pass", dying_once)
    with caplog.at_level(logging.ERROR, logger=process.__name__):
        executor._wake()
        assert _shots(executor, "after-restart", 3) == 3
    assert executor.restarts == 1
    assert "restarting it (SystemExit: injected: the thread ends)" in caplog.text
