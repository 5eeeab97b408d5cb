"""What a worker runs for one job: ``run_request(request) -> Result JSON``.

The server checked the job at submission (options, shots, parameter binds, circuits against
the device's target); the worker trusts that and does not check the circuits against the
target again. It still fails a job with an ``ExecutionError`` for what it meets while running
it: a payload that does not decode, a backend or snapshot no longer in the catalog, a bind
that leaves a parameter without a value (binding needs every value), and Aer refusing the
run or failing every experiment.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from openqx.core import errors
from openqx.devices import user_noise, worker_setup
from openqx.devices.catalog import DeviceCatalog, default_catalog
from openqx.devices.device import Device
from openqx.devices.worker_setup import DeviceSetup
from openqx.execution import aer_cache, results
from openqx.execution import circuits as circuit_tools
from openqx.execution.aer_device import check_aer_device
from openqx.execution.port import BATCH_KIND, ExecutionError, ExecutionRequest

__all__ = ["run_experiments", "run_request"]


def _device(request: ExecutionRequest, catalog: DeviceCatalog | None) -> Device:
    try:
        return (catalog or default_catalog()).get(request.backend)
    except errors.BackendNotFoundError as exc:
        raise ExecutionError(exc.message, "backend_not_found") from exc


def _worker_catalog(request: ExecutionRequest, setup: DeviceSetup) -> DeviceCatalog:
    """The server's catalog rebuilt in this process, with the job's imported snapshot."""
    try:
        worker_setup.worker_device(setup, request.backend)
    except errors.BackendNotFoundError as exc:
        raise ExecutionError(exc.message, "backend_not_found") from exc
    except ValueError as exc:  # an imported snapshot that does not fit the device
        raise ExecutionError(str(exc), "snapshot_not_found") from exc
    return worker_setup.worker_catalog(setup.config)


def run_experiments(
    device: Device,
    snapshot_id: str | None,
    experiments: list[Any],
    *,
    shots: int,
    memory: bool = False,
    seed_simulator: int | None = None,
    simulator_options: Mapping[str, Any] | None = None,
) -> Any:
    """Run bound circuits on the device and return a qiskit ``Result``: an ideal simulator's
    (cached) Aer simulator, an emulated device through ``emulation.run_classified`` (the
    snapshot's noise and asymmetric readout), a served ``BackendV2`` through its own ``run``.

    Args:
        device: the backend.
        snapshot_id: the calibration snapshot (emulated devices).
        experiments: bound circuits.
        shots: shots per experiment.
        memory: keep per-shot outcomes.
        seed_simulator: Aer's seed.
        simulator_options: on an ideal simulator, the user's ``noise_model`` (a dict),
            ``method`` and ``precision`` (checked at submission); ignored on devices.

    Raises:
        ExecutionError: the snapshot is unknown, the noise model does not decode, or Aer
            refused the whole run.
    """
    if device.backend is not None:  # a BackendV2 served through the entry point runs its jobs
        try:
            return device.backend.run(experiments, shots=shots, memory=memory).result()
        except Exception as exc:
            raise ExecutionError(f"the backend failed: {exc}", "simulation_failed") from exc
    if not device.simulator:  # the emulated devices' readout (one home: ``emulation``)
        from openqx.execution import emulation

        return emulation.run_classified(
            device,
            snapshot_id,
            experiments,
            shots=shots,
            memory=memory,
            seed_simulator=seed_simulator,
        )
    try:
        simulator = aer_cache.simulator_for(device, snapshot_id, frozenset())
    except errors.NotFoundError as exc:
        raise ExecutionError(exc.message, "snapshot_not_found") from exc
    if simulator_options:
        simulator = _user_simulator(device, simulator_options)
    run_options: dict[str, Any] = {"shots": shots, "memory": memory}
    if seed_simulator is not None:
        run_options["seed_simulator"] = int(seed_simulator)
    if not simulator_options:  # a user's noise model may sample trajectories: all threads
        run_options.update(aer_cache.threads_for_circuits(experiments))
    try:
        return simulator.run(experiments, **run_options).result()
    except Exception as exc:
        raise ExecutionError(f"simulation failed: {exc}", "simulation_failed") from exc


_SIMULATOR_OPTIONS = ("noise_model", "method", "precision", "device")
SIMULATOR_OPTIONS = _SIMULATOR_OPTIONS
"""The run options that choose an ideal simulator's Aer simulator (``_user_simulator``)."""


USER_SIMULATOR_CACHE_SIZE = 8
"""Simulators with a user's noise model, method or precision kept per process (a job set split
into many jobs reuses one; decoding a 27-qubit device's model takes about a second)."""


def _user_simulator(device: Device, options: Mapping[str, Any]) -> Any:
    """The Aer simulator for an ideal simulator job with its own noise model, method or
    precision (the seed's ``IBMQSimulator`` ``backend_options``), cached by their values."""
    noise = options.get("noise_model")
    noise_json = None if noise is None else json.dumps(noise, sort_keys=True)
    return _cached_user_simulator(
        options.get("method") or device.simulation_method or "automatic",
        options.get("precision"),
        noise_json,
        options.get("device"),
    )


@functools.lru_cache(maxsize=USER_SIMULATOR_CACHE_SIZE)
def _cached_user_simulator(
    method: str, precision: str | None, noise_json: str | None, device: str | None = None
) -> Any:
    from qiskit_aer import AerSimulator

    settings: dict[str, Any] = {"method": method}
    if device is not None:  # "GPU" needs qiskit-aer-gpu on this worker (execution.aer_device)
        check_aer_device(device)
        settings["device"] = device
    if precision is not None:
        settings["precision"] = precision
    if noise_json is not None:
        try:
            settings["noise_model"] = user_noise.noise_model_from_dict(json.loads(noise_json))
        except ValueError as exc:
            raise ExecutionError(str(exc), "bad_noise_model") from exc
    return AerSimulator(**settings)


def run_request(request: ExecutionRequest, catalog: DeviceCatalog | None = None) -> dict[str, Any]:
    """Run one job and return its qiskit ``Result.to_dict()`` JSON.

    ``circuits`` jobs carry QPY; ``options["parameter_binds"]`` (a list of
    ``{parameter name: value}``) turns m circuits into m × n experiments, circuit-major, named
    ``<circuit name>-bind<j>``. On an ideal simulator, ``options`` ``noise_model``, ``method``
    and ``precision`` choose the simulator. ``runtime`` jobs go to their program
    (``circuit-runner``).

    Args:
        request: the job.
        catalog: device catalog (default: the process-wide one).

    Raises:
        ExecutionError: the job cannot run (bad payload, unknown backend or snapshot, unbound
            parameters, every experiment failed).
    """
    if catalog is None and request.devices is not None:
        catalog = _worker_catalog(request, request.devices)
    if request.kind == BATCH_KIND:  # several jobs in one run (``execution.batch``)
        from openqx.execution import batch

        return batch.run_batch(request, catalog)
    if request.kind == "runtime":
        from openqx.core.primitives import PRIMITIVE_PROGRAMS
        from openqx.execution import circuit_runner, primitives

        if request.program_id in PRIMITIVE_PROGRAMS:
            return primitives.run_primitive_request(request, catalog)

        runtime_result: dict[str, Any] = circuit_runner.run_runtime_request(request, catalog)
        return runtime_result
    if request.kind != "circuits":
        raise ExecutionError(f"unknown job kind {request.kind!r}", "bad_request")
    device = _device(request, catalog)
    loaded = circuit_tools.load_qpy(request.payload)
    experiments = circuit_tools.bind_parameters(loaded, request.options.get("parameter_binds"))
    if not device.simulator and device.backend is None:
        return _run_emulated(device, request, experiments)
    result = run_experiments(
        device,
        request.snapshot_id,
        experiments,
        shots=request.shots,
        memory=request.memory,
        seed_simulator=request.options.get("seed_simulator"),
        simulator_options={
            key: request.options[key]
            for key in _SIMULATOR_OPTIONS
            if request.options.get(key) is not None
        },
    )
    return results.result_json(result, request)


def _run_emulated(
    device: Device, request: ExecutionRequest, experiments: list[Any]
) -> dict[str, Any]:
    """A job on an emulated device, with the physics of its run options (``emulation``)."""
    from qiskit.result import Result

    from openqx.execution import emulation

    data = emulation.run_emulated(
        device,
        request.snapshot_id,
        experiments,
        shots=request.shots,
        memory=request.memory,
        options=request.options,
        seed_simulator=request.options.get("seed_simulator"),
    )
    return results.result_json(Result.from_dict(data), request)
