"""``Service``: what it is given, its lifecycle and close order, the admin bootstrap and the
job-limit rule."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.core.wire import JobSubmission
from openqx.devices.catalog import DEFAULT_DEVICE_JOB_LIMIT
from openqx.execution.inline import InlineExecutor
from openqx.scheduler.dispatcher import DispatcherState
from openqx.server import submission
from openqx.server.service import ADMIN_NAME, Service, ServiceStatus
from openqx.server.settings import Settings
from openqx.store.blobs import MemoryBlobStore
from openqx.store.memory_store import MemoryJobStore
from tests.unit.server.harness import (
    ADMIN_TOKEN,
    HeldExecutor,
    bell,
    open_harness,
    qpy_b64,
    small_catalog,
)


class RecordingExecutor(InlineExecutor):
    """An inline executor that notes when it is closed."""

    def __init__(self, log: list[str]) -> None:
        super().__init__(1, small_catalog())
        self.log = log

    def close(self) -> None:
        self.log.append("executor.close")
        super().close()


@pytest.fixture()
def store() -> Iterator[MemoryJobStore]:
    with MemoryJobStore() as opened:
        yield opened


def _service(store: MemoryJobStore, log: list[str], **kwargs: Any) -> Service:
    service = Service(
        store=store,
        blobs=MemoryBlobStore(),
        executor=RecordingExecutor(log),
        catalog=small_catalog(),
        settings=kwargs.pop("settings", Settings(workers=1, admin_token=ADMIN_TOKEN)),
        on_close=[lambda: log.append("on_close")],
        **kwargs,
    )
    stop = service.dispatcher.stop

    def recording_stop(timeout: float = 10.0) -> None:
        log.append("dispatcher.stop")
        stop(timeout)

    service.dispatcher.stop = recording_stop  # type: ignore[method-assign]
    return service


def test_close_stops_the_dispatcher_then_the_executor_then_the_rest(
    store: MemoryJobStore,
) -> None:
    log: list[str] = []
    service = _service(store, log)
    service.open()
    opened = (service.status, service.dispatcher.state)
    assert opened == (ServiceStatus.OPEN, DispatcherState.RUNNING)
    service.close()
    assert log == ["dispatcher.stop", "executor.close", "on_close"]
    closed = (service.status, service.dispatcher.state)
    assert closed == (ServiceStatus.CLOSED, DispatcherState.STOPPED)
    service.close()
    assert log == ["dispatcher.stop", "executor.close", "on_close"]  # closing twice is a no-op


def test_a_service_never_opened_still_releases_its_parts(store: MemoryJobStore) -> None:
    log: list[str] = []
    service = _service(store, log)
    service.close()
    assert log == ["dispatcher.stop", "executor.close", "on_close"]
    assert store.count_users() == 0  # nothing was bootstrapped


def test_a_part_failing_to_close_does_not_keep_the_rest_open(store: MemoryJobStore) -> None:
    log: list[str] = []
    service = _service(store, log)

    def broken_close() -> None:
        log.append("executor.close")
        raise OSError("worker pipe already gone")

    service.executor.close = broken_close  # type: ignore[method-assign]
    service.open()
    with pytest.raises(OSError, match="pipe"):
        service.close()
    assert log == ["dispatcher.stop", "executor.close", "on_close"]


def test_a_service_opens_once(store: MemoryJobStore) -> None:
    log: list[str] = []
    with _service(store, log) as service:
        with pytest.raises(RuntimeError, match="open"):
            service.open()
    with pytest.raises(RuntimeError, match="closed"):
        service.open()


def test_closing_hands_a_running_job_back_to_the_queue(store: MemoryJobStore) -> None:
    held = HeldExecutor(small_catalog())
    service = Service(
        store=store,
        blobs=MemoryBlobStore(),
        executor=held,
        catalog=small_catalog(),
        settings=Settings(workers=1, admin_token=ADMIN_TOKEN),
        stop_timeout=0.0,
    )
    with service:
        admin = store.user_for_token(ADMIN_TOKEN)
        body = JobSubmission(backend="ibmq_qasm_simulator", qpy=qpy_b64(bell()))
        record = submission.submit_circuits_job(service, admin, body)
        assert held.next_job() == record.id
        assert store.get_job(record.id).status is JobStatus.RUNNING
    assert held.closed.is_set()
    after = store.get_job(record.id)
    assert after.status is JobStatus.QUEUED
    assert after.lease_owner is None


def test_the_admin_is_created_once_with_the_configured_token(store: MemoryJobStore) -> None:
    with _service(store, []):
        pass
    admin = store.user_for_token(ADMIN_TOKEN)
    assert admin.name == ADMIN_NAME
    assert admin.is_admin
    assert admin.instances == ("openqx/main/default",)
    with _service(store, []):
        pass
    assert len(store.list_users()) == 1


def test_without_a_configured_token_the_admin_token_is_printed_once(
    store: MemoryJobStore, capsys: pytest.CaptureFixture[str]
) -> None:
    with _service(store, [], settings=Settings(workers=1)):
        pass
    printed = capsys.readouterr().err
    token = printed.strip().splitlines()[-1].strip()
    assert "shown only once" in printed
    assert store.user_for_token(token).name == ADMIN_NAME
    with _service(store, [], settings=Settings(workers=1)):
        pass
    assert capsys.readouterr().err == ""


def test_job_limit_comes_from_the_store_then_settings_then_the_device(
    store: MemoryJobStore,
) -> None:
    settings = Settings(workers=1, admin_token=ADMIN_TOKEN, job_limits={"fake_perth": 2})
    service = _service(store, [], settings=settings)
    assert service.job_limit("fake_manila") == DEFAULT_DEVICE_JOB_LIMIT
    assert service.job_limit("ibmq_qasm_simulator") is None
    assert service.job_limit("fake_perth") == 2
    store.set_backend_job_limit("fake_perth", 9)
    assert service.job_limit("fake_perth") == 9
    service.close()


def test_the_service_clock_reaches_the_dispatcher() -> None:
    clock = ManualClock()
    with open_harness(clock=clock) as harness:
        assert harness.service.clock is clock
        assert harness.service.dispatcher.clock is clock
