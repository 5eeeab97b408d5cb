"""A script in the style of the seed's pages (qiskit-ibmq-provider 0.20) runs against an
openqx server with one change: the import of ``IBMQ`` and ``least_busy``. It loads the account
from the seed's ``QE_TOKEN``/``QE_URL`` variables, picks a device, calls ``backend.name()``,
runs with ``qobj_header``, cancels a job and checks CANCELLED, runs on the simulator with the
device's noise model, and lists jobs. It runs as a subprocess, as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from openqx.client import OpenQX
from openqx.embedded import EmbeddedServer

SCRIPT = textwrap.dedent(
    """
    from qiskit import QuantumCircuit, transpile
    from qiskit.providers import JobStatus
    from qiskit_aer.noise import NoiseModel

    from openqx.compat.ibmq import IBMQ, least_busy  # was: from qiskit import IBMQ ...

    provider = IBMQ.load_account()
    device = provider.backend.fake_manila
    print("device:", device.name(), device.provider() is provider)
    candidates = provider.backends(simulator=False, operational=True, input_allowed="job")
    print("least busy:", least_busy(candidates).name())

    bell = QuantumCircuit(2, 2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure([0, 1], [0, 1])
    transpiled = transpile(bell, backend=device, seed_transpiler=7)
    job = device.run(
        transpiled, shots=1024, job_name="bell", job_tags=["seed"], qobj_header={"tag": "bell"}
    )
    result = job.result()
    counts = result.get_counts()
    print("bell:", job.job_id(), counts.get("00", 0) + counts.get("11", 0), sum(counts.values()))
    print("header:", job.header(), result.results[0].header["tag"])

    simulator = provider.get_backend("ibmq_qasm_simulator")
    heavy = QuantumCircuit(22)
    for layer in range(30):
        for qubit in range(22):
            heavy.rx(0.1 * (layer + qubit + 1), qubit)
        for qubit in range(layer % 2, 21, 2):
            heavy.cx(qubit, qubit + 1)
    heavy.measure_all()
    busy = simulator.run(heavy, shots=10, job_name="heavy")
    waiting = simulator.run(transpiled, shots=100, job_name="waiting")
    if waiting.cancel():
        assert waiting.status() == JobStatus.CANCELLED, waiting.status()
        print("cancelled:", waiting.job_id(), waiting.status().name)
    if busy.cancel():
        assert busy.status() == JobStatus.CANCELLED, busy.status()
        print("cancelled:", busy.job_id(), busy.status().name)

    noise_model = NoiseModel.from_backend(device)
    noisy = simulator.run(transpiled, shots=2000, noise_model=noise_model, seed_simulator=42)
    noisy_counts = noisy.result().get_counts()
    flipped = noisy_counts.get("01", 0) + noisy_counts.get("10", 0)
    print("noisy:", flipped, sum(noisy_counts.values()))

    for listed in device.jobs(limit=5):
        print("job:", listed.backend().name(), listed.job_id(), listed.name(), listed.status().name)
    for listed in simulator.jobs(limit=5):
        print("job:", listed.backend().name(), listed.job_id(), listed.name(), listed.status().name)
    IBMQ.disable_account()
    print("done")
    """
)


def test_a_seed_script_runs_unchanged_apart_from_the_import(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    script = tmp_path / "seed_script.py"
    script.write_text(SCRIPT)
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("OPENQX_", "QE_"))
    }
    environment.update(
        QE_TOKEN=server.token, QE_URL=server.url, OPENQX_CONFIG_DIR=str(tmp_path / "config")
    )

    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stdout.splitlines()
    assert "device: fake_manila True" in lines
    assert any(line.startswith("least busy: fake_") for line in lines), lines
    bell = next(line.split() for line in lines if line.startswith("bell:"))
    bell_id, correlated, shots = bell[1], int(bell[2]), int(bell[3])
    assert shots == 1024 and correlated > 0.8 * shots  # noisy manila, mostly 00 and 11
    assert "header: {'tag': 'bell'} bell" in lines
    cancelled = [line.split() for line in lines if line.startswith("cancelled:")]
    assert len(cancelled) == 2 and all(words[2] == "CANCELLED" for words in cancelled), lines
    noisy = next(line.split() for line in lines if line.startswith("noisy:"))
    assert int(noisy[2]) == 2000 and 0 < int(noisy[1]) < 0.2 * 2000  # the device's noise
    assert f"job: fake_manila {bell_id} bell DONE" in lines
    listed = [line.split() for line in lines if line.startswith("job: ibmq_qasm_simulator")]
    assert {words[3] for words in listed} >= {"heavy", "waiting"}
    assert lines[-1] == "done"

    # What the script did is on the server.
    provider = OpenQX.enable_account(server.token, server.url)
    for words in cancelled:
        assert provider.backend.retrieve_job(words[1]).status().name == "CANCELLED"
    assert provider.backend.retrieve_job(bell_id).header() == {"tag": "bell"}
