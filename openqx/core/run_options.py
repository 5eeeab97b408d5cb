"""Run-option validation shared by the client (before submitting) and the server (on receipt).

Every function is pure: it takes values and the backend configuration as a plain dict (the
IBM ``BackendConfiguration`` schema) and raises ``ValueError`` with a message meant for the
user. Units follow the IBM configuration schema: ``rep_delay_range``, ``default_rep_delay``
and ``rep_times`` are in microseconds while the run options ``rep_delay`` and ``rep_time``
are in seconds; ``qubit_lo_range``/``meas_lo_range`` are in GHz while ``qubit_lo_freq`` and
``meas_lo_freq`` are in Hz.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from openqx.core import bounds as input_bounds
from openqx.core.wire import SHARE_LEVELS

__all__ = [
    "DEFAULT_SHOTS",
    "KNOWN_RUN_OPTIONS",
    "MAX_JOB_NAME_LENGTH",
    "MAX_TAG_LENGTH",
    "MAX_TAGS",
    "MEAS_RETURN_VALUES",
    "SIMULATOR_DEVICES",
    "SIMULATOR_METHODS",
    "SIMULATOR_PRECISIONS",
    "use_measure_esp_default",
    "validate_job_name",
    "validate_job_tags",
    "validate_memory_slots",
    "validate_run_options",
    "validate_share_level",
    "validate_shots",
]

DEFAULT_SHOTS = 4000
"""Shots when none are given (the seed's default); jobs clamp it to the backend's max_shots."""
MAX_TAGS = input_bounds.MAX_TAGS
"""Most tags one job may carry."""
MAX_TAG_LENGTH = input_bounds.MAX_TAG_LENGTH
"""Longest tag, in characters."""
MAX_JOB_NAME_LENGTH = input_bounds.MAX_JOB_NAME_LENGTH
"""Longest job name, in characters."""
MEAS_RETURN_VALUES = ("avg", "single")
"""Accepted ``meas_return`` values."""

KNOWN_RUN_OPTIONS = frozenset(
    {
        "shots",
        "memory",
        "qubit_lo_freq",
        "meas_lo_freq",
        "schedule_los",
        "meas_level",
        "meas_return",
        "memory_slots",
        "memory_slot_size",
        "rep_time",
        "rep_delay",
        "init_qubits",
        "parameter_binds",
        "use_measure_esp",
        "live_data_enabled",
        "seed_simulator",
        "noise_model",
        "method",
        "precision",
        "device",
        "dynamic",
    }
)
"""Run option names the service understands; any other key draws a warning."""

SIMULATOR_METHODS = (
    "automatic",
    "statevector",
    "density_matrix",
    "matrix_product_state",
    "stabilizer",
    "extended_stabilizer",
)
"""Aer methods a simulator job may ask for with ``method`` (``unitary`` and ``superop`` give no
counts)."""
SIMULATOR_PRECISIONS = ("single", "double")
"""Accepted ``precision`` values on simulators."""
SIMULATOR_DEVICES = ("CPU", "GPU")
"""Accepted ``device`` values on simulators (``GPU`` runs only on workers with qiskit-aer-gpu;
the worker refuses it otherwise, ``execution.aer_device``)."""

_US = 1e-6  # seconds per microsecond
_GHZ = 1e9  # hertz per gigahertz
_REL_TOL = 1e-9


def validate_job_tags(tags: object) -> list[str] | None:
    """Check job tags.

    Args:
        tags: ``None`` or a list of non-empty strings.

    Returns:
        The tags (``None`` stays ``None``).

    Raises:
        ValueError: not a list of strings, too many tags, an empty or too long tag, or one
            with NUL or an unpaired surrogate.
    """
    if tags is None:
        return None
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ValueError("job_tags needs to be a list of strings.")
    if len(tags) > MAX_TAGS:
        raise ValueError(f"A job may carry at most {MAX_TAGS} tags, got {len(tags)}.")
    for tag in tags:
        if not tag:
            raise ValueError("Job tags must not be empty strings.")
        if len(tag) > MAX_TAG_LENGTH:
            raise ValueError(f"Job tag {tag[:20]!r}... is longer than {MAX_TAG_LENGTH} characters.")
        input_bounds.check_text(tag, "job tag")
    return list(tags)


def validate_share_level(level: object) -> str | None:
    """Check a job share level.

    Args:
        level: ``None`` or one of ``global``, ``hub``, ``group``, ``project``, ``none``.

    Returns:
        The level (``None`` stays ``None``).

    Raises:
        ValueError: an unknown level.
    """
    if level is None:
        return None
    if not isinstance(level, str) or level not in SHARE_LEVELS:
        valid = ", ".join(SHARE_LEVELS)
        raise ValueError(f'"{level}" is not a valid job share level. Valid values are {valid}.')
    return level


def validate_job_name(name: object) -> str | None:
    """Check a job name.

    Args:
        name: ``None`` or a string of at most 256 characters.

    Returns:
        The name (``None`` stays ``None``).

    Raises:
        ValueError: not a string, too long, or holding NUL or an unpaired surrogate.
    """
    if name is None:
        return None
    if not isinstance(name, str):
        raise ValueError(f"job_name needs to be a string, not {type(name).__name__}.")
    if len(name) > MAX_JOB_NAME_LENGTH:
        raise ValueError(f"job_name is longer than {MAX_JOB_NAME_LENGTH} characters.")
    return input_bounds.check_text(name, "job_name")


def validate_shots(shots: object, configuration: Mapping[str, Any]) -> int:
    """Check a shot count against the backend's ``max_shots``.

    Args:
        shots: a strictly positive ``int`` (``bool`` is refused).
        configuration: the backend configuration dict.

    Returns:
        The shot count.

    Raises:
        ValueError: not an int, below 1 or above ``max_shots``.
    """
    if not isinstance(shots, int) or isinstance(shots, bool):
        raise ValueError(f"shots needs to be an integer, not {type(shots).__name__}.")
    max_shots = configuration.get("max_shots")
    if shots < 1:
        raise ValueError(f"Number of shots must be at least 1, got {shots}.")
    if max_shots is not None and shots > int(max_shots):
        raise ValueError(
            f"Number of shots specified: {shots} exceeds max_shots property of the "
            f"backend: {max_shots}."
        )
    return shots


def validate_run_options(options: Mapping[str, Any], configuration: Mapping[str, Any]) -> list[str]:
    """Check run options against a backend configuration.

    ``None`` values count as "not given". ``shots`` is checked too when present.

    Args:
        options: run option names and values.
        configuration: the backend configuration dict.

    Returns:
        Warnings for the user: unknown option names, options the backend ignores.

    Raises:
        ValueError: an option value the backend cannot honour.
    """
    warnings: list[str] = []
    given = {key: value for key, value in options.items() if value is not None}
    for key in given:
        if key not in KNOWN_RUN_OPTIONS:
            warnings.append(
                f"{key} is not a recognized runtime option and may be ignored by the backend."
            )
    if "dynamic" in given:
        raise ValueError(
            "Dynamic circuits through the 'dynamic' run option are not supported; "
            "submit circuits with control flow directly instead."
        )
    if "shots" in given:
        validate_shots(given["shots"], configuration)
    _check_rep_delay(given, configuration, warnings)
    _check_rep_time(given, configuration)
    _check_meas(given, configuration)
    _check_esp(given, configuration)
    _check_simulator_options(given, configuration, warnings)
    for key, range_key in (("qubit_lo_freq", "qubit_lo_range"), ("meas_lo_freq", "meas_lo_range")):
        if key in given:
            _check_lo(key, given[key], configuration.get(range_key))
    if "init_qubits" in given and not isinstance(given["init_qubits"], bool):
        raise ValueError("init_qubits needs to be a boolean.")
    for key in ("memory_slots", "memory_slot_size"):
        if key in given:
            value = given[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{key} needs to be a positive integer, got {value!r}.")
    if "memory" in given and not isinstance(given["memory"], bool):
        raise ValueError("memory needs to be a boolean.")
    seed = given.get("seed_simulator")
    if seed is not None and (
        not isinstance(seed, int)
        or isinstance(seed, bool)
        or not 0 <= seed <= input_bounds.MAX_SEED
    ):
        raise ValueError(
            f"seed_simulator needs to be an integer in 0..{input_bounds.MAX_SEED} (2**63 - 1), "
            f"got {seed!r}."
        )
    return warnings


def validate_memory_slots(memory_slots: object, circuits: Sequence[tuple[str, int]]) -> None:
    """Check that ``memory_slots`` leaves room for every circuit's classical bits.

    Args:
        memory_slots: the run option (``None``: each circuit gets as many slots as bits).
        circuits: ``(name, number of classical bits)`` of each circuit of the job.

    Raises:
        ValueError: a circuit has more classical bits than ``memory_slots``; names the option
            and the first such circuit.
    """
    if memory_slots is None or isinstance(memory_slots, bool) or not isinstance(memory_slots, int):
        return  # absent, or malformed: validate_run_options reports that
    for index, (name, clbits) in enumerate(circuits):
        if clbits > memory_slots:
            raise ValueError(
                f"memory_slots {memory_slots} is smaller than the {clbits} classical bits of "
                f"circuit {index} ({name!r}); give memory_slots >= {clbits} or leave it unset."
            )


def _number(key: str, value: object) -> float:
    """Return ``value`` as a float or raise a ``ValueError`` naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} needs to be a number, got {value!r}.")
    return float(value)


def _check_rep_delay(
    given: Mapping[str, Any], configuration: Mapping[str, Any], warnings: list[str]
) -> None:
    """``rep_delay`` in seconds against ``rep_delay_range`` in microseconds."""
    if "rep_delay" not in given:
        return
    rep_delay = _number("rep_delay", given["rep_delay"])
    if not configuration.get("dynamic_reprate_enabled", False):
        warnings.append(
            "Dynamic rep rates are not supported on this backend; rep_delay will be ignored."
        )
        return
    bounds = configuration.get("rep_delay_range")
    if not isinstance(bounds, Sequence) or len(bounds) != 2:
        raise ValueError("The backend publishes no valid rep_delay_range; leave rep_delay unset.")
    low, high = float(bounds[0]) * _US, float(bounds[1]) * _US
    if not (low - _slack(low) <= rep_delay <= high + _slack(high)):
        raise ValueError(
            f"Supplied rep_delay {rep_delay} s is not in the supported backend range "
            f"[{low}, {high}] s."
        )


def _check_rep_time(given: Mapping[str, Any], configuration: Mapping[str, Any]) -> None:
    """``rep_time`` in seconds must be one of ``rep_times`` (microseconds)."""
    if "rep_time" not in given:
        return
    rep_time = _number("rep_time", given["rep_time"])
    allowed = [float(value) * _US for value in configuration.get("rep_times") or []]
    if not any(math.isclose(rep_time, value, rel_tol=1e-6) for value in allowed):
        raise ValueError(
            f"Supplied rep_time {rep_time} s is not one of the backend's rep_times {allowed} s."
        )


def _check_meas(given: Mapping[str, Any], configuration: Mapping[str, Any]) -> None:
    """``meas_level`` in ``meas_levels`` (2 always allowed for circuits) and ``meas_return``."""
    if "meas_level" in given:
        level = given["meas_level"]
        level = getattr(level, "value", level)
        allowed = set(configuration.get("meas_levels") or []) | {2}
        if isinstance(level, bool) or level not in allowed:
            raise ValueError(
                f"meas_level {level!r} is not supported by this backend; "
                f"supported levels are {sorted(allowed)}."
            )
    if "meas_return" in given:
        meas_return = given["meas_return"]
        meas_return = getattr(meas_return, "value", meas_return)
        if meas_return not in MEAS_RETURN_VALUES:
            raise ValueError(f'meas_return {meas_return!r} is not valid; use "avg" or "single".')


def _check_esp(given: Mapping[str, Any], configuration: Mapping[str, Any]) -> None:
    """ESP readout only where ``measure_esp_enabled``."""
    if "use_measure_esp" not in given:
        return
    value = given["use_measure_esp"]
    if not isinstance(value, bool):
        raise ValueError("use_measure_esp needs to be a boolean.")
    if value and not configuration.get("measure_esp_enabled", False):
        raise ValueError(
            "ESP readout not supported on this device. Set use_measure_esp to False or "
            "leave it unset."
        )


def use_measure_esp_default(options: Mapping[str, Any], configuration: Mapping[str, Any]) -> bool:
    """The ``use_measure_esp`` a job records: the value given, else the backend's
    ``measure_esp_enabled`` (``False`` when absent, simulators included), as the seed did."""
    value = options.get("use_measure_esp")
    if value is None:
        return bool(configuration.get("measure_esp_enabled", False))
    return bool(value)


def _check_simulator_options(
    given: Mapping[str, Any], configuration: Mapping[str, Any], warnings: list[str]
) -> None:
    """``noise_model``, ``method`` and ``precision``: simulator options (the seed's
    ``IBMQSimulator`` ``backend_options``). The noise model's content is checked by the server
    (``openqx.devices.user_noise``); here only its place and type."""
    simulator = bool(configuration.get("simulator", False))
    if "noise_model" in given:
        if not simulator:
            raise ValueError(
                "noise_model is accepted by simulators only: an emulated device runs with "
                "the noise of its own calibration."
            )
        if not isinstance(given["noise_model"], Mapping):
            raise ValueError(
                "noise_model needs to be a qiskit_aer NoiseModel or its dict "
                "(NoiseModel.to_dict(serializable=True))."
            )
    for key, allowed in (
        ("method", SIMULATOR_METHODS),
        ("precision", SIMULATOR_PRECISIONS),
        ("device", SIMULATOR_DEVICES),
    ):
        if key not in given:
            continue
        if not simulator:
            warnings.append(f"{key} is chosen by the service on emulated devices; it is ignored.")
        elif given[key] not in allowed:
            raise ValueError(
                f"{key} {given[key]!r} is not supported; use one of {', '.join(allowed)}."
            )


def _check_lo(key: str, value: object, ranges: object) -> None:
    """LO frequencies in Hz against per-qubit ranges in GHz."""
    if not isinstance(value, list | tuple):
        raise ValueError(f"{key} needs to be a list of frequencies in Hz.")
    freqs = [_number(key, item) for item in value]
    if not isinstance(ranges, Sequence) or not ranges:
        raise ValueError(f"This backend publishes no LO range; leave {key} unset.")
    if len(freqs) > len(ranges):
        raise ValueError(f"{key} has {len(freqs)} entries but the backend has {len(ranges)}.")
    for index, (freq, bounds) in enumerate(zip(freqs, ranges, strict=False)):
        low, high = float(bounds[0]) * _GHZ, float(bounds[1]) * _GHZ
        if not (low - _slack(low) <= freq <= high + _slack(high)):
            raise ValueError(
                f"{key}[{index}] = {freq} Hz is outside the backend range [{low}, {high}] Hz."
            )


def _slack(value: float) -> float:
    """Tolerance for float unit conversions."""
    return abs(value) * _REL_TOL
