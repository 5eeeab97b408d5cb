"""``queue_info()`` estimates against what then happens (issue 11), through the client on the
in-process service: one emulated device (one job at a time), jobs that each take 4 s of the
service's ``ManualClock`` and 4 s of device time, two projects competing. Every queued job's
estimated start must be within 10 % of a job's run time (0.4 s) of its actual start, the
positions must be the order the jobs actually start in, and the priorities real fair-share
factors."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from openqx.client.account import OpenQX
from openqx.client.job import OpenQXJob
from openqx.client.provider import AccountProvider
from openqx.core.clock import ManualClock
from openqx.core.times import utc_from_stored
from openqx.execution import runner
from tests.unit.server.harness import (
    BASE_URL,
    Harness,
    HeldExecutor,
    bell,
    open_harness,
    small_catalog,
)

_n = itertools.count(1)
MANILA = "fake_manila"
RUN_SECONDS = 4.0
TOLERANCE = timedelta(seconds=0.1 * RUN_SECONDS)


@pytest.fixture(autouse=True)
def no_active_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPENQX_CONFIG_DIR", str(tmp_path))
    for variable in ("OPENQX_TOKEN", "OPENQX_URL", "OPENQX_INSTANCE"):
        monkeypatch.delenv(variable, raising=False)
    yield
    OpenQX._provider = None


def _provider(harness: Harness, instance: str) -> AccountProvider:
    name = f"estimator{next(_n)}"
    harness.store.create_user(name, f"token-{name}", instances=[instance])
    return OpenQX.enable_account(
        f"token-{name}", BASE_URL, transport=harness.client._transport, retries=0
    )


class FixedUsageExecutor(HeldExecutor):
    """Held jobs run with the real runner; their result reports ``RUN_SECONDS`` of device
    time, so every job costs the same (the emulated usage depends on the layout)."""

    def finish(self, job_id: str) -> None:
        request, future = self._take(job_id)
        result = runner.run_request(request, self._catalog)
        result.setdefault("metadata", {})["usage"] = {"quantum_seconds": RUN_SECONDS}
        future.set_result(result)


def _started(harness: Harness, job: OpenQXJob) -> datetime:
    started = harness.store.get_job(job.job_id()).started_at
    assert started is not None
    return utc_from_stored(started)


def test_estimates_match_what_happens() -> None:
    clock = ManualClock()
    held = FixedUsageExecutor(small_catalog())
    with open_harness(executor=held, clock=clock, workers=1) as harness:
        a, b = _provider(harness, "est/g/a"), _provider(harness, "est/g/b")
        harness.store.set_unit_share("est/g/a", 3)
        device_a, device_b = a.get_backend(MANILA), b.get_backend(MANILA)

        def run_next() -> str:
            job_id = held.next_job()
            clock.advance(RUN_SECONDS)
            held.finish(job_id)
            return job_id

        # Measured throughput: three jobs of 4 s each.
        warmup = [device_a.run([bell()], shots=10) for _ in range(3)]
        for _ in warmup:
            run_next()
        running = device_a.run([bell()], shots=10)
        assert held.next_job() == running.job_id()
        queued = [dev.run([bell()], shots=10) for dev in (device_a, device_b) for _ in range(3)]
        predicted = {}
        for job in queued:
            info = job.queue_info()
            assert info is not None and info.estimated_start_time is not None
            assert 0.0 < info.project_priority <= 1.0  # type: ignore[operator]
            position = job.queue_position()
            assert position is not None
            predicted[job.job_id()] = (
                position,
                utc_from_stored(info.estimated_start_time),
            )
        # B has used nothing: its priority is above A's.
        info_a, info_b = queued[0].queue_info(), queued[3].queue_info()
        assert info_a is not None and info_b is not None
        assert info_b.project_priority == 1.0 > info_a.project_priority  # type: ignore[operator]

        clock.advance(RUN_SECONDS)
        held.finish(running.job_id())
        order = [run_next() for _ in queued]
        positions = sorted(predicted, key=lambda job_id: predicted[job_id][0])
        assert order == positions
        for job in queued:
            _, estimate = predicted[job.job_id()]
            assert abs(_started(harness, job) - estimate) <= TOLERANCE, job.job_id()
