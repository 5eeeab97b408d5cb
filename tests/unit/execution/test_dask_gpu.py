"""The ``device`` run option (Aer's ``CPU``/``GPU``): the server accepts ``CPU``/``GPU`` on
simulators and refuses other values; a worker whose Aer offers no GPU refuses a ``GPU`` job
with ``device_unavailable`` naming what to install (or, with ``qiskit-aer-gpu`` but no GPU it
can reach, Aer's reason), and ``CPU`` runs. Where a GPU runs (``benchmarks/gpu/check.sh`` on a
GPU machine), a ``GPU`` job runs on it with the CPU's distribution, also through a Dask worker
that advertises the ``GPU`` resource."""

from __future__ import annotations

import pytest

from openqx.core.run_options import validate_run_options
from openqx.execution import runner
from openqx.execution.aer_device import DEVICE_UNAVAILABLE, available_aer_devices
from openqx.execution.port import ExecutionError
from tests.e2e.circuits import statevector_circuit
from tests.unit.execution.helpers import ghz, request

SIMULATOR = {"simulator": True, "n_qubits": 32, "max_shots": 100000}
DEVICE = {"simulator": False, "n_qubits": 5, "max_shots": 100000}

no_gpu = pytest.mark.skipif(
    "GPU" in available_aer_devices(), reason="this machine's Aer offers a GPU"
)
needs_gpu = pytest.mark.skipif(
    "GPU" not in available_aer_devices(), reason="no GPU that this machine's Aer can run on"
)


def test_cpu_and_gpu_are_accepted_on_simulators_and_other_values_refused() -> None:
    assert validate_run_options({"device": "GPU"}, SIMULATOR) == []
    assert validate_run_options({"device": "CPU"}, SIMULATOR) == []
    with pytest.raises(ValueError, match="device 'TPU' is not supported; use one of CPU, GPU"):
        validate_run_options({"device": "TPU"}, SIMULATOR)


def test_device_on_an_emulated_device_is_ignored_with_a_warning() -> None:
    warnings = validate_run_options({"device": "GPU"}, DEVICE)
    assert any("device" in w and "ignored" in w for w in warnings)


@no_gpu
def test_a_gpu_job_on_a_worker_without_gpu_fails_with_a_clear_error() -> None:
    with pytest.raises(ExecutionError) as caught:
        runner.run_request(request("simulator_statevector", [ghz(2)], options={"device": "GPU"}))
    assert caught.value.code == DEVICE_UNAVAILABLE
    assert "'GPU' is not available" in caught.value.message
    assert "qiskit-aer-gpu" in caught.value.message
    from qiskit_aer import AerSimulator

    if "GPU" in AerSimulator().available_devices():  # qiskit-aer-gpu, but no GPU it can reach
        assert "cannot reach a GPU" in caught.value.message
    else:
        assert "install qiskit-aer-gpu" in caught.value.message


def test_a_cpu_job_runs() -> None:
    result = runner.run_request(
        request("simulator_statevector", [ghz(2)], shots=50, options={"device": "CPU"})
    )
    assert sum(result["results"][0]["data"]["counts"].values()) == 50


@needs_gpu
def test_a_gpu_job_runs_on_the_gpu_with_the_cpu_distribution() -> None:
    from qiskit.quantum_info import hellinger_fidelity

    circuits = [statevector_circuit(5, layers=8), ghz(20)]  # 32 outcomes; 2 of 2**20
    counts: dict[str, list[dict[str, int]]] = {}
    for device in ("GPU", "CPU"):
        result = runner.run_request(
            request(
                "simulator_statevector",
                circuits,
                shots=20000,
                options={"device": device, "method": "statevector"},
            )
        )
        assert [e["metadata"]["device"] for e in result["results"]] == [device, device]
        counts[device] = [e["data"]["counts"] for e in result["results"]]
    for on_gpu, on_cpu in zip(counts["GPU"], counts["CPU"], strict=True):
        assert sum(on_gpu.values()) == 20000
        assert hellinger_fidelity(on_gpu, on_cpu) >= 0.99


@needs_gpu
def test_a_dask_gpu_worker_runs_a_gpu_job_on_its_gpu() -> None:
    distributed = pytest.importorskip("distributed")
    from openqx.execution.dask import GPU_RESOURCE, DaskExecutor

    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",
        resources={GPU_RESOURCE: 1},
    ) as cluster:
        executor = DaskExecutor(cluster.scheduler_address)
        try:
            job = request(
                "simulator_statevector",
                [ghz(20)],
                shots=1000,
                options={"device": "GPU", "method": "statevector"},
            )
            result = executor.submit(job).result(120)
        finally:
            executor.close()
    experiment = result["results"][0]
    assert experiment["metadata"]["device"] == "GPU"
    counts = experiment["data"]["counts"]
    assert sum(counts.values()) == 1000 and set(counts) == {"0x0", "0xfffff"}
