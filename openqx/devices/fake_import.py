"""Import real device snapshots shipped by ``qiskit_ibm_runtime.fake_provider``.

The JSON files are read directly (``backends/<folder>/conf_<folder>.json`` and
``props_<folder>.json``); the fake backend classes are never instantiated in the server path.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from openqx.core.clock import SYSTEM_CLOCK, Clock
from openqx.devices.device import Device
from openqx.devices.drift import DriftModel
from openqx.devices.pulse_defaults import honest_configuration
from openqx.devices.snapshots import CalibrationSnapshot

__all__ = ["fake_device_folders", "fake_provider_dir", "load_fake_device"]


def fake_provider_dir() -> Path:
    """Return the folder holding the fake backends' JSON (without importing the runtime).

    Raises:
        FileNotFoundError: qiskit-ibm-runtime is not installed.
    """
    spec = importlib.util.find_spec("qiskit_ibm_runtime")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("qiskit-ibm-runtime is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "fake_provider" / "backends"


def fake_device_folders() -> dict[str, str]:
    """Return ``{catalog name: folder}`` for every device of the fake provider, e.g.
    ``{"fake_manila": "manila", ...}``; reads one directory listing, no JSON.

    A folder counts when it holds ``conf_<folder>.json`` and ``props_<folder>.json``.
    Returns an empty mapping when qiskit-ibm-runtime is not installed.
    """
    try:
        base = fake_provider_dir()
    except FileNotFoundError:
        return {}
    found: dict[str, str] = {}
    for entry in sorted(base.iterdir()):
        folder = entry.name
        if (entry / f"conf_{folder}.json").is_file() and (entry / f"props_{folder}.json").is_file():
            found[f"fake_{folder}"] = folder
    return found


def _read(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def load_fake_device(
    name: str,
    folder: str,
    default_job_limit: int | None = None,
    drift: DriftModel | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Device:
    """Load one fake backend's configuration and properties into a ``Device`` named ``name``.

    The configuration is made honest (``honest_configuration``); the properties become the
    first real snapshot of the device's history.

    Args:
        name: catalog name (``fake_manila``); becomes the configuration's ``backend_name``.
        folder: folder under ``fake_provider/backends`` (``manila``).
        default_job_limit: per-user active job limit on the device.
        drift: the drift model of the history (``None``: the real snapshot only).
        clock: what "now" is for the history.

    Raises:
        FileNotFoundError: the JSON files are missing.
    """
    base = fake_provider_dir() / folder
    configuration = honest_configuration(_read(base / f"conf_{folder}.json"))
    properties = _read(base / f"props_{folder}.json")
    properties["backend_name"] = name
    return Device(
        name=name,
        configuration=configuration,
        simulator=False,
        simulation_method=None,
        snapshots=[CalibrationSnapshot.from_properties(properties)],
        default_job_limit=default_job_limit,
        drift=drift,
        clock=clock,
    )
