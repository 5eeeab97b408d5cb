"""The scheduler's settings reach the parts ``Service.from_settings`` builds on a real SQLite
file: the fair-share window (usage older than it is not counted) and per-device concurrency
(a device not served is refused; ``openqx serve`` says so in one line, exit status 2)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from openqx.cli.main import main
from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.server.service import Service
from openqx.server.settings import Settings
from openqx.store.records import NewJob
from openqx.store.sql_store import SqlJobStore

BACKEND = "fake_manila"
HEAVY, LIGHT = "hub/group/heavy", "hub/group/light"


def _settings(data_dir: Path, **fields: Any) -> Settings:
    return Settings(data_dir=data_dir, executor="inline", workers=4, **fields)


def _job(store: SqlJobStore, clock: ManualClock, owner: int, instance: str) -> str:
    clock.advance(1)  # strict creation order
    job_id = f"job-{instance.rsplit('/', 1)[1]}-{clock.monotonic():g}"
    job = NewJob(id=job_id, kind="circuits", backend=BACKEND, owner_id=owner,
                 instance=instance, num_circuits=1, shots=10)  # fmt: skip
    return store.create_job(job).id


@pytest.mark.parametrize(("window_days", "counted"), [(1, False), (28, True)])
def test_usage_outside_the_configured_window_is_not_counted(
    tmp_path: Path, window_days: float, counted: bool
) -> None:
    """``heavy`` used the device for 100 s two days ago, then queues a job before ``light``
    does: with a 1-day window that usage is forgotten and the older job goes first; with the
    default 28 days ``light``, which used nothing, goes first."""
    clock = ManualClock()
    settings = _settings(tmp_path, fairshare_window_days=window_days)
    service = Service.from_settings(settings, clock=clock)  # not opened: no dispatcher runs
    try:
        store = service.store
        assert isinstance(store, SqlJobStore)
        assert store.fairshare_window == timedelta(days=window_days)
        heavy = store.create_user("heavy", "heavy-token", instances=[HEAVY]).id
        light = store.create_user("light", "light-token", instances=[LIGHT]).id
        used = _job(store, clock, heavy, HEAVY)
        claimed = store.claim_next(BACKEND, "test", 60)
        assert claimed is not None and claimed.id == used
        store.finish_job(used, JobStatus.DONE, usage_seconds=100.0)
        clock.advance(timedelta(days=2).total_seconds())
        first = _job(store, clock, heavy, HEAVY)
        second = _job(store, clock, light, LIGHT)
        assert store.window_usage(BACKEND) == ({HEAVY: 100.0} if counted else {})
        assert store.fair_queue(BACKEND)[:2] == ([second, first] if counted else [first, second])
    finally:
        service.close()


def test_device_concurrency_reaches_the_dispatcher(tmp_path: Path) -> None:
    settings = _settings(tmp_path, device_concurrency={BACKEND: 1, "ibmq_qasm_simulator": 2})
    service = Service.from_settings(settings)
    try:
        limits = service.dispatcher.concurrency
        assert (limits(BACKEND), limits("ibmq_qasm_simulator")) == (1, 2)
        assert (limits("fake_lima"), limits("simulator_mps")) == (2, 4)  # the defaults
    finally:
        service.close()


def test_a_limit_for_a_device_not_served_stops_the_start(tmp_path: Path) -> None:
    settings = _settings(tmp_path, device_concurrency={"fake_manilla": 1})
    with pytest.raises(ValueError, match="did you mean fake_manila"):
        Service.from_settings(settings)


def test_serve_names_a_device_not_served_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [name for name in os.environ if name.startswith("OPENQX_")]:
        monkeypatch.delenv(name)
    argv = ["serve", "--data-dir", str(tmp_path), "--executor", "inline", "--workers", "1",
            "--device-concurrency", "fake_manilla=1", "--log-level", "warning"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("openqx serve: device concurrency for 'fake_manilla', which this")
    assert "did you mean fake_manila?" in err[-1]
