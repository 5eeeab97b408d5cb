"""A server configuration file chooses the devices: ``openqx serve --devices-config`` (here the
embedded server with the same setting) serves one fake-provider device and a lab's own chip
defined by JSON files, runs jobs on them in real worker processes that rebuild the same
catalog, and the client's ``properties(datetime)``, ``job.properties()`` and ``defaults()``
agree with the device's calibration history."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from qiskit import QuantumCircuit

from openqx.client import OpenQX
from openqx.client.exceptions import OpenQXBackendValueError
from openqx.client.provider import AccountProvider
from openqx.core.pulse_defaults import PulseDefaults
from openqx.devices.server_config import load_devices_config
from openqx.devices.worker_setup import worker_catalog
from openqx.embedded import EmbeddedServer
from tests.unit.devices.factories import small_configuration, small_properties

CONFIG = """
[devices]
simulators = true
include = ["fake_manila"]
entry_points = false

[devices.drift]
seed = 7

[devices.options.lab_chip]
job_limit = 2

[[devices.custom]]
name = "lab_chip"
configuration = "chips/conf.json"
properties = ["chips/props-2026-01-01.json"]
"""


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server configuration file and the chip's JSON files beside it."""
    folder = tmp_path_factory.mktemp("lab")
    (folder / "chips").mkdir()
    (folder / "chips" / "conf.json").write_text(json.dumps(small_configuration(2)))
    (folder / "chips" / "props-2026-01-01.json").write_text(json.dumps(small_properties(2)))
    path = folder / "openqx.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture(scope="module")
def provider(
    config_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AccountProvider]:
    """The admin's provider on a server that serves what ``config_file`` says."""
    data_dir = tmp_path_factory.mktemp("openqx-devices")
    with EmbeddedServer(
        data_dir=data_dir, executor="local", workers=1, devices_config=config_file
    ) as server:
        provider = OpenQX.enable_account(server.token, url=server.url)
        try:
            yield provider
        finally:
            OpenQX.disable_account()


def _bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2, name="bell")
    circuit.sx(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


def test_the_configuration_file_chooses_the_devices(provider: AccountProvider) -> None:
    names = {backend.name for backend in provider.backends()}
    assert names == {
        "fake_manila",
        "lab_chip",
        "ibmq_qasm_simulator",
        "simulator_mps",
        "simulator_stabilizer",
        "simulator_statevector",
    }
    chip = provider.get_backend("lab_chip")
    assert chip.num_qubits == 2
    assert chip.job_limit().maximum_jobs == 2


@pytest.mark.parametrize("name", ["lab_chip", "fake_manila"])
def test_jobs_run_with_the_snapshot_in_force_and_report_it(
    provider: AccountProvider, name: str, config_file: Path
) -> None:
    backend = provider.get_backend(name)
    job = backend.run(_bell(), shots=200, seed_simulator=11)
    counts = job.result(timeout=300).get_counts()
    assert sum(counts.values()) == 200
    ran_with = job.properties()
    assert ran_with is not None
    in_force = backend.properties(refresh=True)
    assert in_force is not None
    # no recalibration happened during this short test: the job ran with the one in force
    assert ran_with.to_dict() == in_force.to_dict()
    # the history a worker rebuilds from the same file holds exactly that snapshot
    device = worker_catalog(load_devices_config(config_file)).get(name)
    expected = device.current_snapshot()
    assert expected is not None
    assert ran_with.last_update_date == expected.last_update_date
    assert ran_with.t1(0) == pytest.approx(_t1_seconds(expected.properties))


def _t1_seconds(properties: dict[str, object]) -> float:
    qubits = properties["qubits"]
    assert isinstance(qubits, list)
    entry = next(p for p in qubits[0] if p["name"] == "T1")
    scale = {"us": 1e-6, "ns": 1e-9, "ms": 1e-3, "s": 1.0}[entry.get("unit", "s")]
    return float(entry["value"]) * scale


def test_properties_at_dates_follow_the_history(provider: AccountProvider) -> None:
    chip = provider.get_backend("lab_chip")
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    assert chip.properties(datetime=anchor - timedelta(days=1)) is None  # before the first
    early = chip.properties(datetime=anchor + timedelta(days=2, hours=1))
    later = chip.properties(datetime=anchor + timedelta(days=40, hours=1))
    assert early is not None and later is not None
    assert early.last_update_date == anchor + timedelta(days=2)
    assert later.last_update_date == anchor + timedelta(days=40)
    assert early.t1(0) != later.t1(0)  # drift
    # a naive datetime is the user's local time, as in the seed
    local = (anchor + timedelta(days=2, hours=1)).astimezone().replace(tzinfo=None)
    naive = chip.properties(datetime=local)
    assert naive is not None and naive.last_update_date == early.last_update_date


def test_pulse_defaults_come_from_the_snapshot(provider: AccountProvider) -> None:
    chip = provider.get_backend("lab_chip")
    defaults = chip.defaults()
    assert isinstance(defaults, PulseDefaults)
    properties = chip.properties()
    assert properties is not None
    assert defaults.qubit_freq_est[0] == pytest.approx(properties.frequency(0))  # Hz, both
    assert chip.defaults() is defaults  # cached until refresh
    assert provider.get_backend("ibmq_qasm_simulator").defaults() is None


def test_an_imported_snapshot_is_served_and_a_malformed_one_refused(
    provider: AccountProvider,
) -> None:
    chip = provider.get_backend("lab_chip")
    api = chip._api  # the admin's ApiClient
    imported = small_properties(2, date="2026-06-01T00:00:00+00:00", t1_us=42.0)
    bad = small_properties(2, date="2026-07-01T00:00:00+00:00")
    bad["qubits"][1][0]["value"] = -5.0
    with pytest.raises(OpenQXBackendValueError, match=r"qubits\[1\]\[0\]\.value"):
        api.import_backend_properties("lab_chip", bad)
    info = api.import_backend_properties("lab_chip", imported)
    assert info.imported
    served = chip.properties(datetime=datetime(2026, 6, 1, 12, tzinfo=UTC))
    assert served is not None
    assert served.t1(0) == pytest.approx(42e-6)
    listed = api.backend_snapshots(
        "lab_chip",
        start=datetime(2026, 5, 31, tzinfo=UTC),
        end=datetime(2026, 7, 2, tzinfo=UTC),
        limit=1000,
    )
    assert [s.snapshot_id for s in listed if s.imported] == [info.snapshot_id]
    dates = {s.last_update_date for s in listed}
    assert datetime(2026, 7, 1, tzinfo=UTC) in dates  # a recalibration, not the refused one


def test_a_job_after_an_import_runs_in_a_worker_with_its_recalibration(
    provider: AccountProvider,
) -> None:
    chip = provider.get_backend("lab_chip")
    api = chip._api
    imported = small_properties(2, date="2026-08-01T00:00:00+00:00", t1_us=61.0)
    info = api.import_backend_properties("lab_chip", imported)
    in_force = chip.properties(refresh=True)
    assert in_force is not None
    newest = api.backend_snapshots("lab_chip", limit=1000)[-1]
    assert newest.snapshot_id.startswith(info.snapshot_id + ".")  # drifted from the import
    # the worker process knew nothing of the import: the job carries it there
    job = chip.run(_bell(), shots=100, seed_simulator=5)
    assert sum(job.result(timeout=300).get_counts().values()) == 100
    ran_with = job.properties()
    assert ran_with is not None
    assert ran_with.to_dict() == in_force.to_dict()
