"""Devices share the dispatcher fairly: a rotating first backend, per-device concurrency,
and the usage a finished job is charged (issue 11)."""

from __future__ import annotations

from typing import Any

from openqx.core.status import JobStatus
from openqx.scheduler.concurrency import DeviceConcurrency, default_limit
from openqx.scheduler.dispatcher import results_usage
from openqx.scheduler.rotation import rotate
from openqx.store.memory_store import MemoryJobStore

from .conftest import MakeDispatcher, SubmitJob
from .fakes import ControlledExecutor, ok_result


def test_rotate_starts_one_further_each_turn() -> None:
    names = ["a", "b", "c"]
    assert [rotate(names, turn)[0] for turn in range(5)] == ["a", "b", "c", "a", "b"]
    assert rotate(names, 4) == ["b", "c", "a"]
    assert rotate([], 3) == []


def test_one_slot_serves_every_device_in_turn(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
) -> None:
    """With one slot and a long queue on the alphabetically first device, the other device's
    job starts within one round (it waited behind the whole queue before)."""
    for _ in range(5):
        submit(backend="fake_a")
    other = submit(backend="fake_b")
    dispatcher = make_dispatcher(capacity=1)
    started: list[str] = []
    for _ in range(2):
        dispatcher.run_once()
        (job_id,) = [j for j in executor.requests if j not in started]
        started.append(job_id)
        executor.finish(job_id)
    assert other.id in started


def test_per_device_concurrency_leaves_slots_to_other_devices(
    executor: ControlledExecutor, make_dispatcher: MakeDispatcher, submit: SubmitJob
) -> None:
    busy = [submit(backend="fake_a") for _ in range(4)]
    other = submit(backend="fake_b")
    dispatcher = make_dispatcher(capacity=3, concurrency=lambda backend: 1)
    dispatcher.run_once()
    assert sorted(executor.requests) == sorted([busy[0].id, other.id])
    assert dispatcher.running_on("fake_a") == 1
    executor.finish(busy[0].id)
    dispatcher.run_once()
    assert busy[1].id in executor.requests and dispatcher.running_on("fake_a") == 1


def test_default_limits() -> None:
    assert [default_limit(simulator=False, slots=s) for s in (0, 1, 2, 3, 8)] == [1, 1, 1, 2, 4]
    assert default_limit(simulator=True, slots=8) == 8
    limits = DeviceConcurrency(
        lambda b: {"sim": True, "dev": False}.get(b), 4, overrides={"dev2": 1}
    )
    assert (limits("sim"), limits("dev"), limits("dev2"), limits("unknown")) == (4, 2, 1, None)


def test_usage_comes_from_the_result_or_host_seconds(
    store: MemoryJobStore,
    executor: ControlledExecutor,
    make_dispatcher: MakeDispatcher,
    submit: SubmitJob,
    clock: Any,
) -> None:
    emulated, ideal = submit(), submit(backend="ibmq_qasm_simulator")
    dispatcher = make_dispatcher(capacity=2)
    dispatcher.run_once()
    clock.advance(3)
    result = ok_result(emulated.id)
    result["metadata"] = {"usage": {"quantum_seconds": 0.125}}
    executor.finish(emulated.id, result)
    executor.finish(ideal.id)
    done = store.get_job(emulated.id)
    assert (done.status, done.usage_seconds, done.run_mode) == (JobStatus.DONE, 0.125, "fairshare")
    assert store.get_job(ideal.id).usage_seconds == 3.0


def test_results_usage_reads_only_numbers() -> None:
    assert results_usage({"metadata": {"usage": {"quantum_seconds": 2}}}) == 2.0
    assert results_usage({"metadata": {"usage": {"quantum_seconds": "x"}}}) is None
    assert results_usage({"metadata": None}) is None
    assert results_usage({}) is None
