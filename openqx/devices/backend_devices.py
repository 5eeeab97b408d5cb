"""Any qiskit ``BackendV2`` served as an openqx device, found through the ``openqx.devices``
entry-point group.

A lab puts its own hardware control stack or another simulator behind openqx's queues, users
and job store by shipping a package that declares, in its ``pyproject.toml``::

    [project.entry-points."openqx.devices"]
    lab_chip = "lab_stack.openqx:make_backend"

The entry point's name becomes the device name; its object is a ``BackendV2`` instance, a
``BackendV2`` subclass (built without arguments) or a callable without arguments that returns
one. The device's configuration is derived from the backend's target, its calibration
snapshot from ``backend.properties()`` when the backend has one, and jobs run on the backend
itself (``Device.backend``).

An entry point that fails to load (import error, wrong object, exception while building) is
logged with its name and the reason and skipped; the other devices are served.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from openqx.core.clock import SYSTEM_CLOCK, Clock
from openqx.devices.device import Device
from openqx.devices.snapshots import CalibrationSnapshot

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from qiskit.providers import BackendV2

    from openqx.devices.catalog import DeviceCatalog

__all__ = [
    "ENTRY_POINT_GROUP",
    "configuration_from_backend",
    "device_from_backend",
    "load_entry_point_devices",
]

ENTRY_POINT_GROUP = "openqx.devices"
"""The entry-point group openqx reads devices from."""

logger = logging.getLogger(__name__)

_NON_GATES = frozenset(
    {"measure", "reset", "delay", "barrier", "if_else", "while_loop", "for_loop", "switch_case"}
)


def configuration_from_backend(name: str, backend: BackendV2) -> dict[str, Any]:
    """Return an IBM ``BackendConfiguration`` JSON describing ``backend`` under ``name``."""
    target = backend.target
    operations = sorted(target.operation_names)
    gates = [op for op in operations if op not in _NON_GATES]
    coupling = target.build_coupling_map()
    coupling_map = [list(edge) for edge in coupling.get_edges()] if coupling is not None else None
    return {
        "backend_name": name,
        "backend_version": str(getattr(backend, "backend_version", None) or "0.0.0"),
        "n_qubits": int(backend.num_qubits),
        "basis_gates": operations,
        "gates": [_gate_config(target, g) for g in gates],
        "local": False,
        "simulator": False,
        "conditional": any(op in target.operation_names for op in ("if_else", "switch_case")),
        "open_pulse": False,
        "memory": True,
        "max_shots": 100_000,
        "max_experiments": int(backend.max_circuits or 300),
        "coupling_map": coupling_map,
        "supported_instructions": operations,
        "description": str(backend.description or f"{name} (served through an entry point)"),
        "online_date": "2021-01-01T00:00:00+00:00",
        "meas_levels": [2],  # its own backend runs the jobs: classified counts only
        "n_registers": 1,
        "credits_required": False,
        "dt": target.dt,
    }


def _gate_config(target: Any, name: str) -> dict[str, Any]:
    """One ``gates`` entry; its ``coupling_map`` ties the gate to the qubits the target allows
    (so a target rebuilt from the configuration alone has the same connectivity)."""
    config: dict[str, Any] = {"name": name, "parameters": [], "qasm_def": ""}
    qargs = target.qargs_for_operation_name(name)
    if qargs is not None:
        config["coupling_map"] = sorted(list(q) for q in qargs)
    return config


def _snapshots_of(backend: BackendV2, name: str) -> list[CalibrationSnapshot]:
    """The backend's own calibration, when it publishes ``properties()`` (IBM-style)."""
    properties_method = getattr(backend, "properties", None)
    if not callable(properties_method):
        return []
    properties = properties_method()
    if properties is None:
        return []
    data = properties.to_dict() if hasattr(properties, "to_dict") else dict(properties)
    if "last_update_date" not in data:
        return []
    data["backend_name"] = name
    data["last_update_date"] = str(data["last_update_date"])
    return [CalibrationSnapshot.from_properties(data)]


def device_from_backend(
    name: str,
    backend: BackendV2,
    default_job_limit: int | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Device:
    """Return a device that runs its jobs on ``backend``.

    Raises:
        TypeError: ``backend`` is not a qiskit ``BackendV2``.
    """
    from qiskit.providers import BackendV2

    if not isinstance(backend, BackendV2):
        raise TypeError(f"expected a qiskit BackendV2, got {type(backend).__name__}")
    return Device(
        name=name,
        configuration=configuration_from_backend(name, backend),
        simulator=False,
        snapshots=_snapshots_of(backend, name),
        default_job_limit=default_job_limit,
        clock=clock,
        backend=backend,
    )


def _as_backend(obj: object) -> BackendV2:
    """A backend from an entry point's object: an instance, a class, or a factory."""
    from qiskit.providers import BackendV2

    if isinstance(obj, BackendV2):
        return obj
    if callable(obj):
        made = obj()
        if isinstance(made, BackendV2):
            return made
        raise TypeError(f"{obj!r} returned a {type(made).__name__}, not a qiskit BackendV2")
    raise TypeError(f"{obj!r} is neither a qiskit BackendV2 nor a callable returning one")


def load_entry_point_devices(
    catalog: DeviceCatalog,
    entry_points: Iterable[EntryPoint] | None = None,
    default_job_limit: int | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> list[str]:
    """Add a device to ``catalog`` for each entry point; return the names added.

    Args:
        catalog: the catalog to extend. A name it already has is not replaced (logged).
        entry_points: the entry points to load (default: the installed ones of
            ``ENTRY_POINT_GROUP``).
        default_job_limit: active jobs per user on these devices (``None``: no limit).
        clock: what "now" is for their histories.
    """
    if entry_points is None:
        # Imported here: scanning installed distributions is only needed when building a
        # catalog, not when importing openqx.devices.
        from importlib.metadata import entry_points as installed

        entry_points = installed(group=ENTRY_POINT_GROUP)
    added: list[str] = []
    for entry_point in entry_points:
        name = entry_point.name
        if name in catalog:
            logger.warning(
                "device entry point %r skipped: a device of that name exists",
                name,
                extra={"action": "load_device_entry_point", "device": name},
            )
            continue
        try:
            backend = _as_backend(entry_point.load())
            device = device_from_backend(name, backend, default_job_limit, clock)
        except Exception as exc:  # a plug-in may fail in any way; it must not stop the server
            logger.error(
                "device entry point %r (%s) failed to load, skipped: %s: %s",
                name,
                entry_point.value,
                type(exc).__name__,
                exc,
                extra={
                    "action": "load_device_entry_point",
                    "device": name,
                    "entry_point": entry_point.value,
                    "error": f"{type(exc).__name__}: {exc}",
                },
            )
            continue
        catalog.add(device)
        added.append(name)
    return added
