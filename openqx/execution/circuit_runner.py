"""The ``circuit-runner`` program: transpile on the server, run, optionally mitigate readout.

This is the server side of ``provider.run_circuits`` (ibmq-provider 0.20 §3.4). Its inputs are
JSON params: ``circuits`` (base64 QPY of untranspiled circuits), ``shots``, the transpiler
options and ``measurement_error_mitigation``. With mitigation each experiment gains
``data.quasiprobabilities`` (hex-keyed, like IBM's program) and
``header.final_measurement_mapping`` (the physical qubit of each measured clbit, clbit order),
which ``RunnerResult.get_quasiprobabilities()`` turns into ``QuasiDistribution`` objects.
Circuits and readout calibration run through ``runner.run_experiments``: on an emulated device
that is ``emulation.run_classified``, the snapshot's noise and asymmetric readout, as for
``backend.run`` jobs. The calibration is cached per (device, snapshot, qubits) in the process.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openqx.core import circuit_payload, errors, run_options
from openqx.core.circuit_runner import (
    KNOWN_PARAMS,
    PROGRAM_ID,
    TRANSPILE_OPTIONS,
    check_optimization_level,
)
from openqx.core.parameter_binds import check_parameter_binds
from openqx.core.run_options import DEFAULT_SHOTS
from openqx.devices.catalog import DeviceCatalog, default_catalog
from openqx.devices.device import Device
from openqx.execution import circuits as circuit_tools
from openqx.execution import results
from openqx.execution.port import ExecutionError, ExecutionRequest
from openqx.execution.runner import run_experiments

__all__ = [
    "CALIBRATION_SHOTS",
    "KNOWN_PARAMS",
    "PROGRAM_ID",
    "CircuitRunnerSummary",
    "run_runtime_request",
    "validate_circuit_runner_params",
]

CALIBRATION_SHOTS = 8192
"""Shots per readout calibration circuit (all-zeros and all-ones)."""

_STAGE_OPTIONS = {
    "layout_method": "layout",
    "routing_method": "routing",
    "translation_method": "translation",
}
"""Top-level inputs that name a transpiler stage plugin, and their stage."""


@dataclass(frozen=True)
class CircuitRunnerSummary:
    """What the server records about a validated circuit-runner job."""

    num_circuits: int
    shots: int


def _decode_circuits(value: Any) -> list[Any]:
    parts = value if isinstance(value, list) else [value]
    loaded: list[Any] = []
    for part in parts:
        if not isinstance(part, str):
            raise errors.InvalidInputError("'circuits' must be base64 QPY text.")
        try:
            loaded += circuit_payload.decode_circuits(part, source="'circuits'")
        except ValueError as exc:
            raise errors.InvalidInputError(f"'circuits' is not valid base64 QPY: {exc}") from exc
    return loaded


def validate_circuit_runner_params(
    params: Mapping[str, Any], device: Device
) -> CircuitRunnerSummary:
    """Check circuit-runner inputs at submission.

    Raises:
        InvalidInputError: unknown option names (the message lists the known ones), no or
            non-circuit ``circuits``, a bad ``initial_layout`` (not a list of qubits, out of
            range, duplicates, not one per circuit qubit), ``optimization_level`` outside
            0..3, a ``layout_method``/``routing_method``/``translation_method`` that names no
            installed plugin, ``parameter_binds`` that do not fit the circuits
            (``check_parameter_binds``), ``shots`` not an integer in 1..max_shots.
    """
    return _checked(params, device)[0]


def _checked(params: Mapping[str, Any], device: Device) -> tuple[CircuitRunnerSummary, list[Any]]:
    """``validate_circuit_runner_params``, also returning the decoded circuits."""
    unknown = sorted(set(params) - KNOWN_PARAMS)
    if unknown:
        raise errors.InvalidInputError(
            f"Unknown circuit-runner option(s): {', '.join(unknown)}. "
            f"Known options: {', '.join(sorted(KNOWN_PARAMS))}."
        )
    if "circuits" not in params:
        raise errors.InvalidInputError("'circuits' is required.")
    circuits = _decode_circuits(params["circuits"])
    if not circuits:
        raise errors.InvalidInputError("'circuits' holds no circuits.")
    for circuit in circuits:
        if circuit.num_qubits > device.num_qubits:
            raise errors.InvalidInputError(
                f"Circuit {circuit.name!r} has {circuit.num_qubits} qubits but backend "
                f"{device.name!r} has only {device.num_qubits}."
            )
    level = params.get("optimization_level")
    if level is not None:
        try:
            check_optimization_level(level)
        except ValueError as exc:
            raise errors.InvalidInputError(str(exc)) from exc
    _check_layout(params.get("initial_layout"), circuits, device, "initial_layout")
    _check_stage_methods(params)
    _check_binds(params.get("parameter_binds"), circuits)
    shots = params.get("shots")
    try:
        shots = run_options.validate_shots(
            min(DEFAULT_SHOTS, device.max_shots) if shots is None else shots,
            {"max_shots": device.max_shots},
        )
    except ValueError as exc:
        raise errors.InvalidInputError(str(exc)) from exc
    transpiler_options = params.get("transpiler_options")
    if transpiler_options is not None and not isinstance(transpiler_options, dict):
        raise errors.InvalidInputError("transpiler_options must be a dict.")
    if transpiler_options:
        layout = transpiler_options.get("initial_layout")
        _check_layout(layout, circuits, device, "transpiler_options.initial_layout")
    return CircuitRunnerSummary(num_circuits=len(circuits), shots=shots), circuits


def _check_layout(layout: object, circuits: list[Any], device: Device, name: str) -> None:
    """An initial layout: one distinct physical qubit of the device per circuit qubit."""
    if layout is None:
        return
    if not isinstance(layout, list) or not all(
        isinstance(q, int) and not isinstance(q, bool) for q in layout
    ):
        raise errors.InvalidInputError(
            f"{name} must be a list of physical qubit indices (one per circuit qubit), "
            f"not {_shown(layout)}."
        )
    bad = [q for q in layout if not 0 <= q < device.num_qubits]
    if bad:
        raise errors.InvalidInputError(
            f"{name} qubit(s) {bad[:10]} out of range for backend {device.name!r} "
            f"({device.num_qubits} qubits)."
        )
    if len(set(layout)) != len(layout):
        raise errors.InvalidInputError(f"{name} contains duplicate qubits.")
    for circuit in circuits:
        if circuit.num_qubits != len(layout):
            raise errors.InvalidInputError(
                f"{name} lists {len(layout)} qubit(s) but circuit {circuit.name!r} "
                f"has {circuit.num_qubits}; give one physical qubit per circuit qubit."
            )


def _check_stage_methods(params: Mapping[str, Any]) -> None:
    """``layout_method``, ``routing_method``, ``translation_method``: an installed plugin."""
    from qiskit.transpiler.preset_passmanagers.plugin import list_stage_plugins

    for key, stage in _STAGE_OPTIONS.items():
        value = params.get(key)
        if value is None:
            continue
        known = list_stage_plugins(stage)
        if not isinstance(value, str) or value not in known:
            raise errors.InvalidInputError(
                f"{key} must be one of {', '.join(known)}, not {_shown(value)}."
            )


def _check_binds(binds: object, circuits: list[Any]) -> None:
    """``parameter_binds``: the rule of ``POST /jobs`` (``check_parameter_binds``); an empty
    list means no binds, as for the runner."""
    try:
        check_parameter_binds(circuits, None if binds == [] else binds)
    except ValueError as exc:
        raise errors.InvalidInputError(str(exc)) from exc


def _shown(value: object) -> str:
    """A bad value for a message: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _transpile(
    circuits: list[Any],
    params: Mapping[str, Any],
    device: Device,
    snapshot_id: str | None,
) -> list[Any]:
    from qiskit import transpile

    options: dict[str, Any] = {k: params[k] for k in TRANSPILE_OPTIONS if params.get(k) is not None}
    options.update(params.get("transpiler_options") or {})
    try:
        transpiled = transpile(circuits, target=device.target(snapshot_id), **options)
    except Exception as exc:
        raise ExecutionError(f"transpilation failed: {exc}", "transpile_failed") from exc
    return transpiled if isinstance(transpiled, list) else [transpiled]


@functools.lru_cache(maxsize=256)
def _calibration(device: Device, snapshot_id: str | None, qubits: tuple[int, ...]) -> Any:
    """Return an ``M3Mitigation`` calibrated on ``qubits`` through the device's own readout."""
    import mthree
    import numpy as np
    from qiskit import QuantumCircuit

    circuits = []
    for prepared in (0, 1):
        qc = QuantumCircuit(device.num_qubits, len(qubits))
        if prepared:
            qc.x(list(qubits))
        qc.measure(list(qubits), list(range(len(qubits))))
        circuits.append(qc)
    calibrated = run_experiments(
        device, snapshot_id, circuits, shots=CALIBRATION_SHOTS, seed_simulator=1234
    )
    cals = [calibrated.get_counts(index) for index in range(len(circuits))]
    matrices: list[Any] = [np.eye(2) for _ in range(max(qubits) + 1)]
    for bit, qubit in enumerate(qubits):
        matrix = np.zeros((2, 2))
        for prepared, counts in enumerate(cals):
            ones = sum(n for key, n in counts.items() if key[::-1][bit] == "1")
            matrix[1, prepared] = ones / CALIBRATION_SHOTS
            matrix[0, prepared] = 1 - ones / CALIBRATION_SHOTS
        matrices[qubit] = matrix
    mitigator = mthree.M3Mitigation()
    mitigator.cals_from_matrices(matrices)
    return mitigator


readout_mitigator = _calibration
"""``(device, snapshot_id, qubits) -> M3Mitigation``: the cached readout calibration, also
used by the estimator's resilience level 1 (``execution.primitives``)."""


def _mitigate(
    data: dict[str, Any], aer_result: Any, transpiled: list[Any], device: Device, snapshot: Any
) -> None:
    import mthree

    for index, circuit in enumerate(transpiled):
        mapping = mthree.utils.final_measurement_mapping(circuit)
        qubits = tuple(mapping[c] for c in sorted(mapping))
        experiment = data["results"][index]
        experiment["header"]["final_measurement_mapping"] = [int(q) for q in qubits]
        if not qubits or not experiment.get("success"):
            continue
        counts = aer_result.get_counts(index)
        # keep the measured clbits only, in clbit order (bit i is character -1-i)
        bits = sorted(mapping)
        marginal: dict[str, int] = {}
        for key, n in counts.items():
            flat = key.replace(" ", "")[::-1]
            sub = "".join(flat[b] for b in bits)[::-1]
            marginal[sub] = marginal.get(sub, 0) + n
        mitigator = _calibration(device, snapshot, qubits)
        quasi = mitigator.apply_correction(marginal, list(qubits))
        experiment["data"]["quasiprobabilities"] = {
            hex(int(k, 2)): float(v) for k, v in quasi.items()
        }


def run_runtime_request(
    request: ExecutionRequest, catalog: DeviceCatalog | None = None
) -> dict[str, Any]:
    """Run a ``runtime`` job (only ``circuit-runner`` exists) and return its Result JSON.

    Raises:
        ExecutionError: unknown program, bad params, transpilation or simulation failure.
    """
    if request.program_id != PROGRAM_ID:
        raise ExecutionError(f"unknown program {request.program_id!r}", "bad_request")
    try:
        device = (catalog or default_catalog()).get(request.backend)
        params = json.loads(request.payload)
        summary, circuits = _checked(params, device)
    except errors.ServiceError as exc:
        raise ExecutionError(exc.message, exc.code) from exc
    except ValueError as exc:
        raise ExecutionError(f"params are not valid JSON: {exc}", "bad_payload") from exc
    snapshot = device.resolve_snapshot(request.snapshot_id)
    snapshot_id = snapshot.id if snapshot else None
    transpiled = _transpile(circuits, params, device, snapshot_id)
    experiments = circuit_tools.bind_parameters(transpiled, params.get("parameter_binds"))
    aer_result = run_experiments(
        device,
        snapshot_id,
        experiments,
        shots=summary.shots,
        memory=bool(params.get("memory", request.memory)),
        seed_simulator=params.get("seed_simulator", request.options.get("seed_simulator")),
    )
    data = results.result_json(aer_result, request)
    if params.get("measurement_error_mitigation"):
        _mitigate(data, aer_result, experiments, device, snapshot_id)
    return data
