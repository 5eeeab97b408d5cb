"""What a worker runs for one job: ``run_request(request) -> Result JSON``.

The server checked the job at submission (options, shots, parameter binds, circuits against
the device's target); the worker trusts that and does not check the circuits against the
target again. It still fails a job with an ``ExecutionError`` for what it meets while running
it: a payload that does not decode, a backend or snapshot no longer in the catalog, a bind
that leaves a parameter without a value (binding needs every value), and Aer refusing the
run or failing every experiment.
"""

from __future__ import annotations

from typing import Any

from openqx.core import errors
from openqx.devices.catalog import DeviceCatalog, default_catalog
from openqx.devices.device import Device
from openqx.execution import aer_cache, results
from openqx.execution import circuits as circuit_tools
from openqx.execution.port import ExecutionError, ExecutionRequest

__all__ = ["run_experiments", "run_request"]


def _device(request: ExecutionRequest, catalog: DeviceCatalog | None) -> Device:
    try:
        return (catalog or default_catalog()).get(request.backend)
    except errors.BackendNotFoundError as exc:
        raise ExecutionError(exc.message, "backend_not_found") from exc


def run_experiments(
    device: Device,
    snapshot_id: str | None,
    experiments: list[Any],
    *,
    shots: int,
    memory: bool = False,
    seed_simulator: int | None = None,
) -> Any:
    """Run bound circuits on the device's (cached) simulator and return Aer's ``Result``.

    Raises:
        ExecutionError: the snapshot is unknown or Aer refused the whole run.
    """
    active = frozenset() if device.simulator else circuit_tools.active_qubits(experiments)
    try:
        simulator = aer_cache.simulator_for(device, snapshot_id, active)
    except errors.NotFoundError as exc:
        raise ExecutionError(exc.message, "snapshot_not_found") from exc
    run_options: dict[str, Any] = {"shots": shots, "memory": memory}
    if seed_simulator is not None:
        run_options["seed_simulator"] = int(seed_simulator)
    try:
        return simulator.run(experiments, **run_options).result()
    except Exception as exc:
        raise ExecutionError(f"simulation failed: {exc}", "simulation_failed") from exc


def run_request(request: ExecutionRequest, catalog: DeviceCatalog | None = None) -> dict[str, Any]:
    """Run one job and return its qiskit ``Result.to_dict()`` JSON.

    ``circuits`` jobs carry QPY; ``options["parameter_binds"]`` (a list of
    ``{parameter name: value}``) turns m circuits into m × n experiments, circuit-major, named
    ``<circuit name>-bind<j>``. ``runtime`` jobs go to their program (``circuit-runner``).

    Args:
        request: the job.
        catalog: device catalog (default: the process-wide one).

    Raises:
        ExecutionError: the job cannot run (bad payload, unknown backend or snapshot, unbound
            parameters, every experiment failed).
    """
    if request.kind == "runtime":
        from openqx.execution import circuit_runner

        runtime_result: dict[str, Any] = circuit_runner.run_runtime_request(request, catalog)
        return runtime_result
    if request.kind != "circuits":
        raise ExecutionError(f"unknown job kind {request.kind!r}", "bad_request")
    device = _device(request, catalog)
    loaded = circuit_tools.load_qpy(request.payload)
    experiments = circuit_tools.bind_parameters(loaded, request.options.get("parameter_binds"))
    result = run_experiments(
        device,
        request.snapshot_id,
        experiments,
        shots=request.shots,
        memory=request.memory,
        seed_simulator=request.options.get("seed_simulator"),
    )
    return results.result_json(result, request)
