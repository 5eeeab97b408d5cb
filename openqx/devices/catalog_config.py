"""Which devices a server serves, and how: the ``[devices]`` table of the server configuration.

``CatalogConfig.from_dict`` reads the table (parsed from TOML or JSON by the server), and
``build_catalog`` turns it into a ``DeviceCatalog``::

    [devices]
    simulators = true                 # the ideal cloud simulators
    include = ["fake_*"]              # fake-provider devices to serve (glob patterns; default all)
    exclude = ["fake_rochester"]
    entry_points = true               # BackendV2 devices of the ``openqx.devices`` group

    [devices.drift]                   # the calibration drift model (docs/devices.md)
    enabled = true
    seed = 0
    period_hours = 24

    [devices.options.fake_manila]     # per device
    job_limit = 3
    drift = false

    [[devices.custom]]                # a lab's own chip model
    name = "lab_chip"
    configuration = "chips/conf.json"            # relative to the configuration file
    properties = ["chips/props-2026-01-01.json"]
    job_limit = 2

Fake-provider devices are registered lazily (listing names reads no JSON); custom devices are
read and checked when the catalog is built, so a broken file stops the server with a message
naming the file and the field; an entry point that fails is logged and skipped.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openqx.core.clock import SYSTEM_CLOCK, Clock
from openqx.devices import backend_devices, custom, fake_import
from openqx.devices.catalog import (
    DEFAULT_DEVICE_JOB_LIMIT,
    DEFAULT_DRIFT,
    DeviceCatalog,
    add_fake_devices,
    add_simulators,
)
from openqx.devices.custom import DeviceConfigError
from openqx.devices.drift import DriftModel

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = ["CatalogConfig", "CustomDeviceSpec", "DeviceOptions", "build_catalog"]

_SOURCE = "[devices]"


@dataclass(frozen=True)
class DeviceOptions:
    """Per-device options.

    Attributes:
        job_limit: active jobs per user (``None``: no limit).
        drift: whether the device's history drifts (with the catalog's model).
    """

    job_limit: int | None = DEFAULT_DEVICE_JOB_LIMIT
    drift: bool = True


@dataclass(frozen=True)
class CustomDeviceSpec:
    """A device defined by JSON files.

    Attributes:
        name: device name.
        configuration: its ``BackendConfiguration`` JSON file.
        properties: its real ``BackendProperties`` JSON files.
    """

    name: str
    configuration: Path
    properties: tuple[Path, ...] = ()


@dataclass(frozen=True)
class CatalogConfig:
    """What ``build_catalog`` builds (the defaults serve what ``default_catalog`` serves).

    Attributes:
        simulators: serve the ideal cloud simulators.
        include: glob patterns of fake-provider device names to serve (``("*",)``: all).
        exclude: glob patterns of fake-provider device names not to serve.
        drift: the drift model; ``None`` switches drift off for every device.
        options: per-device options by name.
        custom: devices defined by JSON files.
        entry_points: serve the devices of the ``openqx.devices`` entry-point group.
    """

    simulators: bool = True
    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    drift: DriftModel | None = DEFAULT_DRIFT
    options: Mapping[str, DeviceOptions] = field(default_factory=dict)
    custom: tuple[CustomDeviceSpec, ...] = ()
    entry_points: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base_dir: Path | None = None) -> CatalogConfig:
        """Read the ``[devices]`` table; relative paths are resolved against ``base_dir``.

        Raises:
            DeviceConfigError: an unknown key or a value of the wrong type (named).
        """
        base = base_dir or Path.cwd()
        _known(
            data,
            {"simulators", "include", "exclude", "drift", "options", "custom", "entry_points"},
            "",
        )
        return cls(
            simulators=_bool(data, "simulators", True, ""),
            include=_strings(data, "include", ("*",), ""),
            exclude=_strings(data, "exclude", (), ""),
            drift=_drift(data.get("drift", {})),
            options={
                str(name): _options(value, f"options.{name}")
                for name, value in _table(data, "options", "").items()
            },
            custom=tuple(
                _custom(item, f"custom[{i}]", base)
                for i, item in enumerate(_list(data, "custom", ""))
            ),
            entry_points=_bool(data, "entry_points", True, ""),
        )

    def serves_fake(self, name: str) -> bool:
        """Whether fake-provider device ``name`` is served."""
        return any(fnmatch.fnmatchcase(name, p) for p in self.include) and not any(
            fnmatch.fnmatchcase(name, p) for p in self.exclude
        )

    def device_options(self, name: str) -> DeviceOptions:
        """The options of device ``name`` (defaults when none are set)."""
        return self.options.get(name, DeviceOptions())


def build_catalog(
    config: CatalogConfig | None = None,
    clock: Clock = SYSTEM_CLOCK,
    entry_points: Iterable[EntryPoint] | None = None,
) -> DeviceCatalog:
    """Build the catalog a server serves.

    Args:
        config: what to serve (default: ``CatalogConfig()``, as ``default_catalog``).
        clock: what "now" is for the calibration histories (the service's clock).
        entry_points: the device entry points to load (default: the installed ones).

    Raises:
        DeviceConfigError: a custom device's file is unreadable or malformed.
    """
    config = config or CatalogConfig()
    catalog = DeviceCatalog()
    if config.simulators:
        add_simulators(catalog)
    folders = {n: f for n, f in fake_import.fake_device_folders().items() if config.serves_fake(n)}
    for drifting in (True, False):
        chosen = {n: f for n, f in folders.items() if config.device_options(n).drift is drifting}
        add_fake_devices(
            catalog,
            chosen,
            drift=config.drift if drifting else None,
            clock=clock,
            job_limits={n: config.device_options(n).job_limit for n in chosen},
        )
    for spec in config.custom:
        options = config.device_options(spec.name)
        catalog.add(
            custom.load_custom_device(
                spec.name,
                spec.configuration,
                spec.properties,
                default_job_limit=options.job_limit,
                drift=config.drift if options.drift else None,
                clock=clock,
            )
        )
    if config.entry_points:
        backend_devices.load_entry_point_devices(catalog, entry_points, clock=clock)
    return catalog


# ------------------------------------------------------------------------------ parsing


def _where(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _known(data: Mapping[str, Any], keys: set[str], prefix: str) -> None:
    if not isinstance(data, Mapping):
        raise DeviceConfigError(_SOURCE, prefix or "<table>", "expected a table")
    for key in data:
        if key not in keys:
            raise DeviceConfigError(
                _SOURCE, _where(prefix, str(key)), f"unknown key (known: {', '.join(sorted(keys))})"
            )


def _bool(data: Mapping[str, Any], key: str, default: bool, prefix: str) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise DeviceConfigError(
            _SOURCE, _where(prefix, key), f"expected true or false, got {value!r}"
        )
    return value


def _strings(
    data: Mapping[str, Any], key: str, default: tuple[str, ...], prefix: str
) -> tuple[str, ...]:
    value = data.get(key, list(default))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DeviceConfigError(
            _SOURCE, _where(prefix, key), f"expected a list of strings, got {value!r}"
        )
    return tuple(value)


def _table(data: Mapping[str, Any], key: str, prefix: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise DeviceConfigError(_SOURCE, _where(prefix, key), "expected a table")
    return value


def _list(data: Mapping[str, Any], key: str, prefix: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise DeviceConfigError(_SOURCE, _where(prefix, key), "expected a list of tables")
    return value


def _number(data: Mapping[str, Any], key: str, prefix: str) -> float | None:
    if key not in data:
        return None
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise DeviceConfigError(
            _SOURCE, _where(prefix, key), f"expected a positive number, got {value!r}"
        )
    return float(value)


def _drift(data: object) -> DriftModel | None:
    if not isinstance(data, Mapping):
        raise DeviceConfigError(_SOURCE, "drift", "expected a table")
    _known(data, {"enabled", "seed", "period_hours"}, "drift")
    if not _bool(data, "enabled", True, "drift"):
        return None
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise DeviceConfigError(_SOURCE, "drift.seed", f"expected an integer, got {seed!r}")
    hours = _number(data, "period_hours", "drift")
    period = timedelta(hours=hours) if hours is not None else DEFAULT_DRIFT.period
    return DriftModel(seed=seed, period=period)


def _job_limit(data: Mapping[str, Any], prefix: str) -> int | None:
    value = data.get("job_limit", DEFAULT_DEVICE_JOB_LIMIT)
    if value is None or value == -1:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DeviceConfigError(
            _SOURCE,
            _where(prefix, "job_limit"),
            f"expected a positive integer or -1, got {value!r}",
        )
    return value


def _options(data: object, prefix: str) -> DeviceOptions:
    if not isinstance(data, Mapping):
        raise DeviceConfigError(_SOURCE, prefix, "expected a table")
    _known(data, {"job_limit", "drift"}, prefix)
    return DeviceOptions(
        job_limit=_job_limit(data, prefix), drift=_bool(data, "drift", True, prefix)
    )


def _custom(data: object, prefix: str, base: Path) -> CustomDeviceSpec:
    if not isinstance(data, Mapping):
        raise DeviceConfigError(_SOURCE, prefix, "expected a table")
    _known(data, {"name", "configuration", "properties"}, prefix)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise DeviceConfigError(
            _SOURCE, _where(prefix, "name"), f"expected a device name, got {name!r}"
        )
    conf = data.get("configuration")
    if not isinstance(conf, str):
        raise DeviceConfigError(
            _SOURCE, _where(prefix, "configuration"), f"expected a file path, got {conf!r}"
        )
    props = _strings(data, "properties", (), prefix)
    return CustomDeviceSpec(
        name=name,
        configuration=base / conf,
        properties=tuple(base / p for p in props),
    )
