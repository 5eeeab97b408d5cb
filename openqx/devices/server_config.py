"""The server's device configuration file: a TOML file whose ``[devices]`` table chooses the
devices and their options (``catalog_config``; ``docs/devices.md``)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from openqx.devices.catalog_config import CatalogConfig
from openqx.devices.custom import DeviceConfigError

__all__ = ["load_devices_config"]


def load_devices_config(path: Path | str) -> CatalogConfig:
    """Read the ``[devices]`` table of the TOML file ``path`` (relative paths in it are
    resolved against the file's folder); a file without the table serves the defaults.

    Raises:
        DeviceConfigError: the file is unreadable, not TOML, or the table is malformed (the
            message names the file and the key).
    """
    file = Path(path).expanduser()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DeviceConfigError(str(file), "<file>", f"cannot be read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DeviceConfigError(str(file), "<file>", f"not valid TOML: {exc}") from exc
    table = data.get("devices", {})
    if not isinstance(table, dict):
        raise DeviceConfigError(str(file), "devices", "expected a table")
    try:
        return CatalogConfig.from_dict(table, base_dir=file.parent.resolve())
    except DeviceConfigError as exc:
        if exc.source != "[devices]":
            raise  # a custom device's own file, already named
        problem = str(exc).removeprefix(f"{exc.source}: {exc.field}: ")
        raise DeviceConfigError(str(file), f"devices.{exc.field}", problem) from exc
