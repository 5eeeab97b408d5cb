"""Pulse defaults (``backend.defaults()``) and a configuration that says what openqx runs.

Qiskit 2 has no pulse models, so ``PulseDefaults`` is a plain object with the seed's JSON
shape (``PulseDefaults.to_dict()`` of qiskit-terra 0.x / qiskit-ibmq-provider 0.20):
frequencies in Hz on the object and GHz in the JSON, an empty pulse library and command
definitions (openqx refuses pulse schedules, so it has no calibrated pulses to publish), and
the measurement kernel and discriminator the configuration names.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from openqx.core.pulse_defaults import GHZ, PulseDefaults

__all__ = [
    "IMPLEMENTED_MEAS_LEVELS",
    "PulseDefaults",
    "honest_configuration",
    "pulse_defaults",
]

IMPLEMENTED_MEAS_LEVELS: tuple[int, ...] = (1, 2)
"""Measurement levels openqx's execution layer returns: kerneled IQ points (1) and classified
bits (2) (``openqx.execution.readout``); raw traces (0) are refused."""

_GHZ = {"Hz": 1e-9, "kHz": 1e-6, "MHz": 1e-3, "GHz": 1.0}


def _middles(ranges: object, count: int) -> list[float] | None:
    if not isinstance(ranges, list) or len(ranges) != count:
        return None
    middles: list[float] = []
    for pair in ranges:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            return None
        middles.append((float(pair[0]) + float(pair[1])) / 2)
    return middles


def _snapshot_frequencies(properties: Mapping[str, Any] | None, count: int) -> list[float] | None:
    if not properties:
        return None
    qubits = properties.get("qubits") or []
    if len(qubits) != count:
        return None
    found: list[float] = []
    for params in qubits:
        value = next(
            (
                float(p["value"]) * _GHZ[p.get("unit", "GHz")]
                for p in params
                if p.get("name") == "frequency" and p.get("unit", "GHz") in _GHZ
            ),
            None,
        )
        if value is None:
            return None
        found.append(value)
    return found


def _named(names: object) -> dict[str, Any] | None:
    if isinstance(names, list) and names and isinstance(names[0], str):
        return {"name": names[0], "params": {}}
    return None


def pulse_defaults(
    configuration: Mapping[str, Any], properties: Mapping[str, Any] | None
) -> PulseDefaults | None:
    """Return a device's pulse defaults, or ``None`` when it has no frequency calibration.

    Simulators (``configuration["simulator"]``) answer ``None``, as do devices whose snapshot
    and configuration give no qubit or no measurement frequency per qubit (the Heron snapshots
    shipped by qiskit-ibm-runtime without ``qubit_lo_range``, for instance).
    """
    if configuration.get("simulator"):
        return None
    count = int(configuration.get("n_qubits") or 0)
    qubit = _snapshot_frequencies(properties, count) or _middles(
        configuration.get("qubit_lo_range"), count
    )
    meas = _middles(configuration.get("meas_lo_range"), count)
    if not count or qubit is None or meas is None:
        return None
    return PulseDefaults(
        qubit_freq_est=[ghz * GHZ for ghz in qubit],
        meas_freq_est=[ghz * GHZ for ghz in meas],
        meas_kernel=_named(configuration.get("meas_kernels")),
        discriminator=_named(configuration.get("discriminators")),
    )


def honest_configuration(
    configuration: Mapping[str, Any], meas_levels: Iterable[int] = IMPLEMENTED_MEAS_LEVELS
) -> dict[str, Any]:
    """Return a copy of a ``BackendConfiguration`` JSON that advertises only what openqx runs.

    ``open_pulse`` becomes false (pulse schedules are refused) and ``meas_levels`` keeps only
    the implemented levels the device advertised (the implemented ones when it advertised
    none). The rest (``qubit_lo_range``, ``dt``, channels, ...) stays: it describes the device.
    """
    honest = copy.deepcopy(dict(configuration))
    implemented = sorted(set(meas_levels))
    advertised = configuration.get("meas_levels")
    if isinstance(advertised, list) and advertised:
        levels = [level for level in implemented if level in advertised]
        honest["meas_levels"] = levels or implemented
    else:
        honest["meas_levels"] = implemented
    honest["open_pulse"] = False
    return honest
