"""Custom devices from JSON files: a lab's own chip model.

A custom device is an IBM ``BackendConfiguration`` JSON file plus one or more
``BackendProperties`` JSON files (its real calibration snapshots, the anchors of its history).
Both are checked when the device is loaded; errors name the file and the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from openqx.core.clock import SYSTEM_CLOCK, Clock
from openqx.devices.device import Device
from openqx.devices.drift import DriftModel
from openqx.devices.properties_check import InvalidPropertiesError, check_properties
from openqx.devices.pulse_defaults import honest_configuration
from openqx.devices.snapshots import CalibrationSnapshot

__all__ = ["DeviceConfigError", "check_configuration", "load_custom_device"]


class DeviceConfigError(ValueError):
    """A device definition (configuration or properties file) is not valid.

    Attributes:
        source: the file (or ``"<configuration>"``) the problem is in.
        field: the offending field's path.
    """

    def __init__(self, source: str, field: str, problem: str) -> None:
        super().__init__(f"{source}: {field}: {problem}")
        self.source = source
        self.field = field


def check_configuration(configuration: object, source: str = "<configuration>") -> dict[str, Any]:
    """Check the fields openqx relies on in a ``BackendConfiguration`` JSON dict.

    Raises:
        DeviceConfigError: the first malformed field.
    """
    if not isinstance(configuration, dict):
        raise DeviceConfigError(source, "<configuration>", "expected a JSON object")
    n_qubits = configuration.get("n_qubits")
    if isinstance(n_qubits, bool) or not isinstance(n_qubits, int) or n_qubits < 1:
        raise DeviceConfigError(
            source, "n_qubits", f"expected a positive integer, got {n_qubits!r}"
        )
    basis = configuration.get("basis_gates")
    if not isinstance(basis, list) or not all(isinstance(g, str) for g in basis) or not basis:
        raise DeviceConfigError(source, "basis_gates", "expected a non-empty list of gate names")
    for key in ("backend_version",):
        if not isinstance(configuration.get(key), str):
            raise DeviceConfigError(
                source, key, f"expected a string, got {configuration.get(key)!r}"
            )
    gates = configuration.get("gates")
    if not isinstance(gates, list):
        raise DeviceConfigError(source, "gates", "expected a list of gate definitions")
    coupling = configuration.get("coupling_map")
    if coupling is not None:
        if not isinstance(coupling, list):
            raise DeviceConfigError(source, "coupling_map", "expected a list of [control, target]")
        for i, edge in enumerate(coupling):
            if (
                not isinstance(edge, list)
                or len(edge) != 2
                or not all(isinstance(q, int) and 0 <= q < n_qubits for q in edge)
            ):
                raise DeviceConfigError(
                    source,
                    f"coupling_map[{i}]",
                    f"expected two qubits below {n_qubits}, got {edge!r}",
                )
    if configuration.get("simulator"):
        raise DeviceConfigError(
            source, "simulator", "custom devices are emulated devices: set it to false"
        )
    return configuration


def _read(source: Path | Mapping[str, Any], what: str) -> tuple[str, Any]:
    if isinstance(source, Mapping):
        return f"<{what}>", dict(source)
    try:
        with Path(source).open(encoding="utf-8") as handle:
            return str(source), json.load(handle)
    except OSError as exc:
        raise DeviceConfigError(str(source), "<file>", f"cannot be read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise DeviceConfigError(str(source), "<file>", f"is not valid JSON: {exc}") from exc


def load_custom_device(
    name: str,
    configuration: Path | Mapping[str, Any],
    properties: Sequence[Path | Mapping[str, Any]] = (),
    default_job_limit: int | None = None,
    drift: DriftModel | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Device:
    """Build an emulated device from a configuration and its calibration snapshots.

    Args:
        name: the device name (replaces ``backend_name`` in the files).
        configuration: a ``BackendConfiguration`` JSON file or dict.
        properties: ``BackendProperties`` JSON files or dicts (any order).
        default_job_limit: active jobs per user (``None``: no limit).
        drift: the drift model of its history (``None``: the given snapshots only).
        clock: what "now" is for its history.

    Raises:
        DeviceConfigError: a file is unreadable or a field malformed (both named).
    """
    source, data = _read(configuration, "configuration")
    checked = honest_configuration(check_configuration(data, source))
    checked["backend_name"] = name
    try:
        from qiskit_ibm_runtime.models import BackendConfiguration

        BackendConfiguration.from_dict(checked)
    except (KeyError, TypeError, ValueError) as exc:
        raise DeviceConfigError(
            source, "<configuration>", f"not an IBM BackendConfiguration: {exc!r}"
        ) from exc
    snapshots: list[CalibrationSnapshot] = []
    for item in properties:
        props_source, props = _read(item, "properties")
        try:
            valid = check_properties(props, num_qubits=checked["n_qubits"])
        except InvalidPropertiesError as exc:
            raise DeviceConfigError(props_source, exc.field, exc.message) from exc
        valid["backend_name"] = name
        snapshots.append(CalibrationSnapshot.from_properties(valid))
    return Device(
        name=name,
        configuration=checked,
        simulator=False,
        snapshots=snapshots,
        default_job_limit=default_job_limit,
        drift=drift,
        clock=clock,
    )
