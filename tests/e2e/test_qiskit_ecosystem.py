"""Today's Qiskit tools, unchanged, against a real openqx server (issue 13, point 1).

Client objects are deep-copied and pickled by these tools: qiskit-ibm-runtime's local mode
(``SamplerV2(mode=backend)``, ``EstimatorV2``, ``Session``, ``Batch``) deep-copies its inputs,
and qiskit-experiments runs every experiment through such a sampler. A copy shares the
connection; a pickle re-opens it, also in another process.
"""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.quantum_info import SparsePauliOp
from qiskit_ibm_runtime.models import BackendProperties

from openqx.client import OpenQX
from openqx.client.backend import OpenQXBackend
from openqx.client.job import OpenQXJob
from openqx.client.provider import AccountProvider
from openqx.embedded import EmbeddedServer

DEVICE = "fake_manila"
SUBPROCESS_TIMEOUT = 120.0
"""Seconds the child process may take (a fresh interpreter imports qiskit)."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """One server on SQLite: everything here is client behaviour, the store plays no part."""
    data_dir = tmp_path_factory.mktemp("openqx-ecosystem")
    with EmbeddedServer(data_dir=data_dir, executor="local", workers=1) as srv:
        yield srv


@pytest.fixture(scope="module")
def provider(server: EmbeddedServer) -> AccountProvider:
    return OpenQX.enable_account(server.token, url=server.url)


@pytest.fixture(scope="module")
def backend(provider: AccountProvider) -> OpenQXBackend:
    return provider.get_backend(DEVICE)


def _bell(backend: OpenQXBackend) -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return transpile(circuit, backend, seed_transpiler=1)


def _t1(properties: BackendProperties | None, qubit: int) -> float:
    assert properties is not None
    return float(properties.t1(qubit))


def _server_jobs_since(backend: OpenQXBackend, start: datetime) -> list[OpenQXJob]:
    return backend.jobs(limit=None, start_datetime=start)


# --- copies and pickles -----------------------------------------------------------------


def test_deep_copies_share_the_connection(
    provider: AccountProvider, backend: OpenQXBackend
) -> None:
    job = backend.run(_bell(backend), shots=20)
    for original in (provider, backend, job):
        clone = copy.deepcopy(original)
        assert clone is not original
        assert type(clone) is type(original)
    backend_copy = copy.deepcopy(backend)
    assert backend_copy._api is backend._api
    assert backend_copy.name == DEVICE and backend_copy.options.shots == backend.options.shots
    backend_copy.set_options(shots=7)
    assert backend.options.shots != 7
    job_copy = copy.deepcopy(job)
    assert job_copy.job_id() == job.job_id()
    assert job_copy.result().get_counts() == job.result().get_counts()


def test_pickles_reopen_the_connection(provider: AccountProvider, backend: OpenQXBackend) -> None:
    provider_back = pickle.loads(pickle.dumps(provider))
    assert provider_back == provider
    assert provider_back.api_client is not provider.api_client
    backend_back = pickle.loads(pickle.dumps(backend))
    assert backend_back.name == DEVICE
    assert backend_back.status().operational
    job = backend.run(_bell(backend), shots=30)
    job_back = pickle.loads(pickle.dumps(job))
    assert job_back.job_id() == job.job_id()
    assert job_back.result().get_counts() == job.result().get_counts()
    assert job_back.backend().name == DEVICE


def test_unpickled_job_is_refreshed_in_another_process(
    backend: OpenQXBackend, tmp_path: Path
) -> None:
    job = backend.run(_bell(backend), shots=50)
    pickled = tmp_path / "job.pickle"
    pickled.write_bytes(pickle.dumps(job))  # pickled at once: most likely not final yet
    script = (
        "import json, pickle, sys\n"
        "job = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "job.wait_for_final_state(timeout=60)\n"
        "print(json.dumps({'id': job.job_id(), 'status': job.status().name,"
        " 'counts': job.result().get_counts()}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(pickled)],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer == {
        "id": job.job_id(),
        "status": "DONE",
        "counts": job.result().get_counts(),
    }


# --- qiskit-ibm-runtime local mode ------------------------------------------------------


def test_runtime_primitives_in_local_mode(backend: OpenQXBackend) -> None:
    from qiskit_ibm_runtime import Batch, EstimatorV2, SamplerV2, Session

    start = datetime.now(UTC)
    bell = _bell(backend)
    result = SamplerV2(mode=backend).run([bell], shots=200).result()
    counts = result[0].data.meas.get_counts()
    assert sum(counts.values()) == 200
    assert counts.get("00", 0) + counts.get("11", 0) > 150

    state = QuantumCircuit(2)
    state.h(0)
    state.cx(0, 1)
    isa = transpile(state, backend, seed_transpiler=1)
    observables = [SparsePauliOp(label).apply_layout(isa.layout) for label in ("ZZ", "ZI")]
    estimate = EstimatorV2(mode=backend).run([(isa, observables)], precision=0.05).result()
    zz, zi = (float(value) for value in estimate[0].data.evs)
    assert zz > 0.7
    assert abs(zi) < 0.3

    with Session(backend=backend) as session:
        in_session = SamplerV2(mode=session).run([bell], shots=40).result()
    with Batch(backend=backend) as batch:
        in_batch = SamplerV2(mode=batch).run([bell], shots=60).result()
    assert sum(in_session[0].data.meas.get_counts().values()) == 40
    assert sum(in_batch[0].data.meas.get_counts().values()) == 60

    # Every primitive ran on the server, as ordinary jobs of this backend.
    ran = _server_jobs_since(backend, start)
    assert len(ran) >= 4
    assert all(job.status().name == "DONE" for job in ran)
    assert {job.backend_options()["shots"] for job in ran} >= {200, 40, 60}


# --- qiskit-experiments -----------------------------------------------------------------


def test_experiments_t1_matches_the_calibration_it_ran_with(backend: OpenQXBackend) -> None:
    from qiskit_experiments.library import T1

    qubit = 0
    start = datetime.now(UTC)
    expected = _t1(backend.properties(refresh=True), qubit)
    delays = np.linspace(0, 3 * expected, 12)
    data = T1(physical_qubits=(qubit,), delays=delays).run(backend, shots=1000)
    data.block_for_results()
    fitted = data.analysis_results("T1", dataframe=True).iloc[0]
    assert data.analysis_status().name == "DONE"
    # The snapshot the server ran the jobs with (calibrations drift over time).
    ran = _server_jobs_since(backend, start)
    assert ran
    snapshots = {_t1(job.properties(), qubit) for job in ran}
    assert len(snapshots) == 1
    (t1,) = snapshots
    assert fitted["value"].nominal_value == pytest.approx(t1, rel=0.10)


# Quantum volume warns that 4 trials cannot certify a volume: this test wants it quick.
@pytest.mark.filterwarnings("ignore:Must use at least 100 trials:UserWarning")
def test_experiments_t2ramsey_rb_and_quantum_volume_run(backend: OpenQXBackend) -> None:
    from qiskit_experiments.library import QuantumVolume, StandardRB, T2Ramsey

    qubit = 1
    properties = backend.properties(refresh=True)
    assert properties is not None
    t2 = float(properties.t2(qubit))
    ramsey = T2Ramsey(
        physical_qubits=(qubit,), delays=np.linspace(0, 1.5 * t2, 10), osc_freq=4 / t2
    ).run(backend, shots=300, seed_simulator=11)
    # Lengths long enough for a ~2e-4 error per gate to show a decay the fit can follow, and
    # seeded sampling: short sequences on a good qubit leave the fit ill-conditioned.
    rb = StandardRB(physical_qubits=(0,), lengths=[1, 100, 300, 600], num_samples=3, seed=7).run(
        backend, shots=200, seed_simulator=11
    )
    qv = QuantumVolume(physical_qubits=(0, 1), trials=4, seed=7).run(
        backend, shots=200, seed_simulator=11
    )
    for data in (ramsey, rb, qv):
        data.block_for_results()
        assert data.analysis_status().name == "DONE", data.analysis_errors()
    t2star = ramsey.analysis_results("T2star", dataframe=True).iloc[0]["value"].nominal_value
    assert 0 < t2star < 3 * t2
    epc = rb.analysis_results("EPC", dataframe=True).iloc[0]["value"].nominal_value
    assert 0 <= epc < 0.05
    assert len(qv.analysis_results(dataframe=True)) >= 1


def test_a_local_service_backend_copies_without_its_server() -> None:
    from qiskit_ibm_runtime import SamplerV2

    provider = OpenQX.local(executor="inline")
    try:
        backend = provider.get_backend(DEVICE)
        clone = pickle.loads(pickle.dumps(backend))
        assert clone.status().operational
        assert not hasattr(clone.provider, "embedded_server")
        assert hasattr(provider, "embedded_server")  # the original keeps (and owns) it
        result = SamplerV2(mode=backend).run([_bell(backend)], shots=30).result()
        assert sum(result[0].data.meas.get_counts().values()) == 30
    finally:
        provider.embedded_server.stop()  # type: ignore[attr-defined]
