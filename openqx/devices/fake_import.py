"""Import real device snapshots shipped by ``qiskit_ibm_runtime.fake_provider``.

The JSON files are read directly (``backends/<folder>/conf_<folder>.json`` and
``props_<folder>.json``); the fake backend classes are never instantiated in the server path.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from openqx.devices.device import Device
from openqx.devices.snapshots import CalibrationSnapshot

__all__ = ["fake_provider_dir", "load_fake_device"]


def fake_provider_dir() -> Path:
    """Return the folder holding the fake backends' JSON (without importing the runtime).

    Raises:
        FileNotFoundError: qiskit-ibm-runtime is not installed.
    """
    spec = importlib.util.find_spec("qiskit_ibm_runtime")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("qiskit-ibm-runtime is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "fake_provider" / "backends"


def _read(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def load_fake_device(name: str, folder: str, default_job_limit: int | None = None) -> Device:
    """Load one fake backend's configuration and properties into a ``Device`` named ``name``.

    Args:
        name: catalog name (``fake_manila``); becomes the configuration's ``backend_name``.
        folder: folder under ``fake_provider/backends`` (``manila``).
        default_job_limit: per-user active job limit on the device.

    Raises:
        FileNotFoundError: the JSON files are missing.
    """
    base = fake_provider_dir() / folder
    configuration = _read(base / f"conf_{folder}.json")
    properties = _read(base / f"props_{folder}.json")
    properties["backend_name"] = name
    return Device(
        name=name,
        configuration=configuration,
        simulator=False,
        simulation_method=None,
        snapshots=[CalibrationSnapshot.from_properties(properties)],
        default_job_limit=default_job_limit,
    )
