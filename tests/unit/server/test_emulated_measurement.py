"""How an emulated device measures, whatever path a job takes (issue 12): ``memory_slots``
refused at submission, and the snapshot's asymmetric readout in server-side primitives."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from qiskit import QuantumCircuit

from openqx.client import exceptions as exc
from openqx.client.account import OpenQX
from openqx.client.primitives import SamplerV2
from openqx.client.provider import AccountProvider
from openqx.core import run_options
from tests.unit.server.harness import Harness, bell, qpy_b64


@pytest.fixture(autouse=True)
def no_saved_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPENQX_CONFIG_DIR", str(tmp_path))
    for variable in ("OPENQX_TOKEN", "OPENQX_URL", "OPENQX_INSTANCE"):
        monkeypatch.delenv(variable, raising=False)
    yield
    OpenQX._provider = None


def _provider(harness: Harness) -> AccountProvider:
    return harness.provider()


def _jobs(harness: Harness) -> int:
    answer = harness.client.get("/v1/jobs", params={"limit": 1000}, headers=harness.headers())
    assert answer.status_code == 200, answer.text
    return len(answer.json()["jobs"])


def test_memory_slots_below_the_classical_bits_is_refused_by_the_pure_check() -> None:
    run_options.validate_memory_slots(None, [("wide", 5)])
    run_options.validate_memory_slots(3, [("a", 2), ("b", 3)])
    with pytest.raises(ValueError, match=r"memory_slots 2 .* 3 classical bits of circuit 1 .'b'"):
        run_options.validate_memory_slots(2, [("a", 2), ("b", 3)])


def test_memory_slots_below_the_classical_bits_is_a_400_at_submission(harness: Harness) -> None:
    before = _jobs(harness)
    body = {
        "backend": "fake_manila",
        "qpy": qpy_b64(bell("two-bits")),  # measure_all: 2 classical bits
        "options": {"memory_slots": 1},
    }
    answer = harness.client.post("/v1/jobs", json=body, headers=harness.headers())
    assert answer.status_code == 400, answer.text
    message = answer.json()["message"] if "message" in answer.json() else answer.text
    assert "memory_slots 1" in message and "'two-bits'" in message
    assert _jobs(harness) == before  # nothing stored
    body["options"] = {"memory_slots": 2}
    assert harness.client.post("/v1/jobs", json=body, headers=harness.headers()).status_code == 201


def test_the_client_refuses_memory_slots_below_the_classical_bits(harness: Harness) -> None:
    backend = _provider(harness).get_backend("fake_manila")
    before = _jobs(harness)
    with pytest.raises(exc.OpenQXBackendValueError, match=r"memory_slots 1 .*'two-bits'"):
        backend.run(bell("two-bits"), shots=10, memory_slots=1)
    assert _jobs(harness) == before


def test_a_sampler_job_reads_out_with_the_snapshots_asymmetric_errors(harness: Harness) -> None:
    """fake_manila qubit 0 has prob_meas1_prep0 ≈ 0.016 and prob_meas0_prep1 ≈ 0.055 (Aer's
    ``from_backend`` would give ≈ 0.035 for both); the sampler must show the snapshot's."""
    backend = _provider(harness).get_backend("fake_manila")
    zero = QuantumCircuit(1, 1, name="zero")
    zero.measure(0, 0)
    one = QuantumCircuit(1, 1, name="one")
    one.x(0)
    one.measure(0, 0)
    shots = 40_000
    job = SamplerV2(mode=backend).run([zero, one], shots=shots)
    result = job.result()
    misread0 = result[0].data.c.get_counts().get("1", 0) / shots
    misread1 = result[1].data.c.get_counts().get("0", 0) / shots

    answer = harness.client.get(f"/v1/jobs/{job.job_id()}/properties", headers=harness.headers())
    assert answer.status_code == 200, answer.text
    qubit0 = {p["name"]: p["value"] for p in answer.json()["qubits"][0]}
    eps0, eps1 = float(qubit0["prob_meas1_prep0"]), float(qubit0["prob_meas0_prep1"])

    def tolerance(p: float) -> float:  # 5 binomial standard errors, plus the |1> gate error
        return 5 * math.sqrt(p * (1 - p) / shots) + 2e-3

    symmetric = (eps0 + eps1) / 2  # what a symmetrised readout error would show for both
    assert abs(symmetric - eps0) > 2 * tolerance(eps0)
    assert abs(symmetric - eps1) > 2 * tolerance(eps1)
    assert misread0 == pytest.approx(eps0, abs=tolerance(eps0))
    assert misread1 == pytest.approx(eps1, abs=tolerance(eps1))
