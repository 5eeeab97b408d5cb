"""Settings of the scheduler (issue 11): the fair-share window in days and per-device
concurrency, from ``OPENQX_*`` variables and ``openqx serve`` flags, checked by name; and a
device's configured concurrency taking effect in the service's dispatcher."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from openqx.cli.main import build_parser, main
from openqx.cli.serve import settings_from
from openqx.core.clock import ManualClock
from openqx.core.status import JobStatus
from openqx.scheduler.concurrency import DeviceConcurrency
from openqx.server.service import Service
from openqx.server.settings import Settings
from openqx.store.blobs import MemoryBlobStore
from openqx.store.memory_store import MemoryJobStore
from openqx.store.records import NewJob
from tests.unit.scheduler.fakes import ControlledExecutor
from tests.unit.server.harness import small_catalog


def test_defaults() -> None:
    settings = Settings()
    assert settings.fairshare_window_days == 28
    assert settings.fairshare_window == timedelta(days=28)
    assert settings.device_concurrency == {}


def test_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "OPENQX_FAIRSHARE_WINDOW_DAYS": "0.5",
            "OPENQX_DEVICE_CONCURRENCY": "fake_manila=1, ibmq_qasm_simulator = 4,",
        }
    )
    assert settings.fairshare_window == timedelta(hours=12)
    assert settings.device_concurrency == {"fake_manila": 1, "ibmq_qasm_simulator": 4}
    assert Settings.from_env({"OPENQX_DEVICE_CONCURRENCY": ""}).device_concurrency == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "bad fair-share window 0 days; expected more than 0"),
        ("-3", "bad fair-share window -3 days"),
        ("nan", "bad fair-share window nan days"),
        ("inf", "bad fair-share window inf days; .* at most 3650 days"),
        ("4000", "bad fair-share window 4000 days; .* at most 3650 days"),
        ("a month", "bad fair-share window 'a month'; expected a number of days"),
        ("", "bad fair-share window ''"),
    ],
)
def test_a_bad_window_is_refused_naming_the_variable(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^OPENQX_FAIRSHARE_WINDOW_DAYS: {message}"):
        Settings.from_env({"OPENQX_FAIRSHARE_WINDOW_DAYS": value})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("fake_manila=0", "fake_manila=0; a device runs at least 1 job at once"),
        ("fake_manila=-1", "'fake_manila=-1'; expected device=N with N >= 1"),
        ("fake_manila=two", "'fake_manila=two'; expected device=N"),
        ("fake_manila=1.5", "'fake_manila=1.5'; expected device=N"),
        ("fake_manila=\u00b2", "expected device=N"),
        ("fake_manila", "'fake_manila'; expected device=N"),
        ("=3", "'=3'; expected device=N"),
    ],
)
def test_a_bad_device_concurrency_is_refused_naming_the_variable(value: str, message: str) -> None:
    with pytest.raises(ValueError, match="^OPENQX_DEVICE_CONCURRENCY: bad device concurrency"):
        Settings.from_env({"OPENQX_DEVICE_CONCURRENCY": value})
    with pytest.raises(ValueError, match=message):
        Settings.from_env({"OPENQX_DEVICE_CONCURRENCY": value})


def test_settings_built_in_code_are_checked_too() -> None:
    with pytest.raises(ValueError, match="fair-share window 0 days"):
        Settings(fairshare_window_days=0).check()
    with pytest.raises(ValueError, match="fake_manila=0"):
        Settings(device_concurrency={"fake_manila": 0}).check()
    with pytest.raises(ValueError, match="fake_manila=0"):
        DeviceConcurrency(lambda backend: False, 4, overrides={"fake_manila": 0})


def test_serve_flags_override_the_environment() -> None:
    args = build_parser().parse_args(
        ["serve", "--fairshare-window-days", "7", "--device-concurrency", "fake_manila=1",
         "--device-concurrency", "fake_lima=2,fake_quito=3"]
    )  # fmt: skip
    environ = {
        "OPENQX_FAIRSHARE_WINDOW_DAYS": "1",
        "OPENQX_DEVICE_CONCURRENCY": "fake_manila=4,a=5",
    }
    settings = settings_from(args, environ)
    assert settings.fairshare_window_days == 7
    assert settings.device_concurrency == {
        "fake_manila": 1,
        "a": 5,
        "fake_lima": 2,
        "fake_quito": 3,
    }
    assert settings_from(build_parser().parse_args(["serve"]), environ).fairshare_window_days == 1


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``OPENQX_*`` variable of the machine running the tests reaches ``openqx serve``."""
    import os

    for name in [name for name in os.environ if name.startswith("OPENQX_")]:
        monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--fairshare-window-days", "0"], "--fairshare-window-days: bad fair-share window 0"),
        (["--fairshare-window-days", "soon"], "--fairshare-window-days: bad fair-share window"),
        (["--device-concurrency", "fake_manila=0"], "--device-concurrency: bad device"),
        (["--device-concurrency", "fake_manila"], "--device-concurrency: bad device"),
    ],
)
def test_a_bad_flag_is_one_line_and_exit_status_2(
    flags: list[str],
    message: str,
    clean_environment: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"openqx serve: {message}") and err.count("\n") == 1, err


def test_a_bad_variable_is_one_line_and_exit_status_2(
    clean_environment: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENQX_DEVICE_CONCURRENCY", "fake_manila=-2")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("openqx serve: OPENQX_DEVICE_CONCURRENCY: bad device concurrency")
    assert err.count("\n") == 1, err


# --- a configured limit takes effect --------------------------------------------------------


@pytest.fixture
def store() -> Iterator[MemoryJobStore]:
    with MemoryJobStore(clock=ManualClock()) as store:
        yield store


def _running_after_one_pass(store: MemoryJobStore, settings: Settings, backend: str) -> int:
    """Queue 4 jobs on ``backend`` (each its own shots: none batch together), run one pass of
    the service's dispatcher, and count the jobs it started."""
    blobs = MemoryBlobStore()
    owner = store.create_user(f"u{len(store.list_users())}", f"t{len(store.list_users())}",
                              instances=["hub/group/project"])  # fmt: skip
    jobs = []
    for shots in (10, 20, 30, 40):
        job = store.create_job(
            NewJob(id=f"{backend}-{shots}-{owner.id}", kind="circuits", backend=backend,
                   owner_id=owner.id, instance="hub/group/project", num_circuits=1, shots=shots)
        )  # fmt: skip
        blobs.put(job.payload_key, b"payload")
        jobs.append(job.id)
    service = Service(
        store=store,
        blobs=blobs,
        executor=ControlledExecutor(),
        catalog=small_catalog(),
        settings=settings,
        clock=ManualClock(),
        stop_timeout=0,  # close hands the started jobs back at once
    )
    try:
        service.dispatcher.run_once()
        return sum(store.get_job(job).status is JobStatus.RUNNING for job in jobs)
    finally:
        service.close()


@pytest.mark.parametrize(
    ("backend", "overrides", "running"),
    [
        ("fake_manila", {}, 2),  # default: half of 4 slots for an emulated device
        ("fake_manila", {"fake_manila": 1}, 1),
        ("fake_manila", {"fake_manila": 3}, 3),
        ("ibmq_qasm_simulator", {}, 4),  # default: every slot for an ideal simulator
        ("ibmq_qasm_simulator", {"ibmq_qasm_simulator": 1}, 1),
    ],
)
def test_a_device_limit_takes_effect_in_the_dispatcher(
    store: MemoryJobStore, backend: str, overrides: dict[str, int], running: int
) -> None:
    settings = Settings(workers=4, device_concurrency=overrides)
    assert _running_after_one_pass(store, settings, backend) == running


def test_a_limit_for_a_device_not_served_is_refused_with_a_suggestion(
    store: MemoryJobStore,
) -> None:
    with pytest.raises(ValueError, match=r"'fake_manilla', which .* did you mean fake_manila\?"):
        Service(
            store=store,
            blobs=MemoryBlobStore(),
            executor=ControlledExecutor(),
            catalog=small_catalog(),
            settings=Settings(device_concurrency={"fake_manilla": 1}),
        )
