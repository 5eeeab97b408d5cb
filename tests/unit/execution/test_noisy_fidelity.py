"""A noisy job through ``run_request`` samples the distribution of direct Aer on the fake backend
(issue 14: Hellinger fidelity >= 0.99 at 20,000 shots), and its cached simulator is reused job
after job, also on a drifted snapshot."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from qiskit import transpile
from qiskit.quantum_info import hellinger_fidelity

from openqx.core.clock import ManualClock
from openqx.devices.catalog import DEFAULT_DRIFT, DeviceCatalog, add_fake_devices, default_catalog
from openqx.devices.fake_import import fake_device_folders
from openqx.execution import aer_cache, runner
from openqx.execution.port import ExecutionRequest
from tests.unit.execution.helpers import ghz, qpy_bytes

SHOTS = 20_000


def _counts(result: dict[str, object]) -> dict[str, int]:
    from qiskit.result import Result

    counts: dict[str, int] = Result.from_dict(result).get_counts()
    return counts


@pytest.mark.parametrize(
    ("backend", "fake"), [("fake_manila", "FakeManilaV2"), ("fake_sherbrooke", "FakeSherbrooke")]
)
def test_noisy_job_matches_direct_aer_at_20000_shots(backend: str, fake: str) -> None:
    from qiskit_aer import AerSimulator
    from qiskit_ibm_runtime import fake_provider

    device = default_catalog().get(backend)
    anchor = device.history.anchors[0]  # the fake provider's own calibration
    isa = transpile(ghz(5), target=device.target(anchor.id), seed_transpiler=1)
    request = ExecutionRequest(
        job_id="fidelity",
        kind="circuits",
        backend=backend,
        snapshot_id=anchor.id,
        payload=qpy_bytes([isa]),
        shots=SHOTS,
        options={"seed_simulator": 5},
    )
    ours = _counts(runner.run_request(request))
    direct = AerSimulator.from_backend(getattr(fake_provider, fake)())
    theirs = direct.run(isa, shots=SHOTS, seed_simulator=6).result().get_counts()
    assert sum(ours.values()) == SHOTS
    assert hellinger_fidelity(ours, theirs) >= 0.99


def test_jobs_within_one_recalibration_reuse_the_cached_simulator() -> None:
    """Drift makes a new snapshot per period, not per job: every job of a period hits the
    cache, and the next period builds one new simulator."""
    clock = ManualClock(datetime(2030, 1, 1, 12, tzinfo=UTC))
    catalog = DeviceCatalog()
    add_fake_devices(
        catalog, {"fake_manila": fake_device_folders()["fake_manila"]}, DEFAULT_DRIFT, clock
    )
    device = catalog.get("fake_manila")
    active = frozenset(range(5))
    seen: dict[str, object] = {}
    repeats = 0
    for _ in range(12):  # a quarter period apart: three days
        snapshot = device.current_snapshot_id()
        assert snapshot is not None
        simulator = aer_cache.readout_free_simulator(device, snapshot, active)
        if snapshot in seen:
            assert simulator is seen[snapshot]
            repeats += 1
        assert all(simulator is not other for key, other in seen.items() if key != snapshot)
        seen[snapshot] = simulator
        clock.advance(DEFAULT_DRIFT.period.total_seconds() / 4)
    assert len(seen) >= 3 and repeats >= 6
