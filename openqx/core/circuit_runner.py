"""The ``circuit-runner`` program's inputs: names and the checks both sides apply.

``provider.runtime.run_circuits`` builds these inputs; ``openqx.execution.circuit_runner``
checks them again at submission and runs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openqx.core.bounds import MAX_SEED

__all__ = [
    "KNOWN_PARAMS",
    "OPTIMIZATION_LEVELS",
    "PROGRAM_ID",
    "RUN_CONFIG_OPTIONS",
    "TRANSPILER_OPTIONS",
    "TRANSPILE_OPTIONS",
    "check_optimization_level",
    "check_program_options",
    "experiment_count",
]

PROGRAM_ID = "circuit-runner"
"""The program that transpiles, runs and optionally mitigates circuits on the server."""

TRANSPILE_OPTIONS = (
    "initial_layout",
    "layout_method",
    "routing_method",
    "translation_method",
    "seed_transpiler",
    "optimization_level",
)
"""Inputs handed to the transpiler."""

RUN_CONFIG_OPTIONS = frozenset(
    {"memory", "seed_simulator", "meas_level", "meas_return", "parameter_binds"}
)
"""Extra run options (``run_circuits(**run_config)``) the program accepts."""

KNOWN_PARAMS = frozenset(
    {
        "circuits",
        "shots",
        *TRANSPILE_OPTIONS,
        "init_qubits",
        "rep_delay",
        "transpiler_options",
        "measurement_error_mitigation",
        "use_measure_esp",
        *RUN_CONFIG_OPTIONS,
    }
)
"""Every input name of the program; any other is refused."""

OPTIMIZATION_LEVELS = (0, 1, 2, 3)
"""Transpiler optimization levels."""


def check_optimization_level(level: object) -> None:
    """Check a transpiler optimization level.

    Raises:
        ValueError: ``level`` is not one of 0, 1, 2 and 3 (``bool`` is refused).
    """
    if isinstance(level, bool) or level not in OPTIMIZATION_LEVELS:
        raise ValueError(f"optimization_level must be 0, 1, 2 or 3, not {level!r}.")


_STAGE_OF_METHOD = {
    "init_method": "init",
    "layout_method": "layout",
    "routing_method": "routing",
    "translation_method": "translation",
    "optimization_method": "optimization",
    "scheduling_method": "scheduling",
}
TRANSPILER_OPTIONS = frozenset(
    {
        *_STAGE_OF_METHOD,
        "initial_layout",
        "seed_transpiler",
        "optimization_level",
        "approximation_degree",
        "unitary_synthesis_method",
        "unitary_synthesis_plugin_config",
        "qubits_initially_zero",
        "ignore_backend_supplied_default_methods",
    }
)
"""Keys ``transpiler_options`` may hold: ``qiskit.transpile`` arguments that neither replace
the device's target (``backend``, ``basis_gates``, ``coupling_map``, ``dt``) nor reach into
the server (``callback``, ``num_processes``, ``hls_config`` objects)."""


def _seed(value: object, name: str) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED
    ):
        raise ValueError(f"{name} must be an integer in 0..{MAX_SEED} (2**63 - 1), not {value!r}.")


def check_program_options(params: Mapping[str, Any], num_qubits: int) -> None:
    """Check the circuit-runner inputs that reach the transpiler and the simulator's seed.

    Args:
        params: the program inputs.
        num_qubits: the device's qubit count (``transpiler_options.initial_layout``).

    Raises:
        ValueError: ``transpiler_options`` is not a dict, names an option outside
            ``TRANSPILER_OPTIONS``, or gives one a value ``qiskit.transpile`` cannot take
            (an unknown stage plugin, a seed outside 0..2**63-1, an out-of-range layout).
    """
    _seed(params.get("seed_simulator"), "seed_simulator")
    _seed(params.get("seed_transpiler"), "seed_transpiler")
    options = params.get("transpiler_options")
    if options is None:
        return
    if not isinstance(options, Mapping):
        raise ValueError("transpiler_options must be a dict.")
    unknown = sorted(set(options) - TRANSPILER_OPTIONS)
    if unknown:
        raise ValueError(
            f"Unknown transpiler_options {', '.join(map(repr, unknown))}; known options: "
            f"{', '.join(sorted(TRANSPILER_OPTIONS))}."
        )
    _check_transpiler_values(options, num_qubits)


def _check_transpiler_values(options: Mapping[str, Any], num_qubits: int) -> None:
    from qiskit.transpiler.passes.synthesis.plugin import unitary_synthesis_plugin_names
    from qiskit.transpiler.preset_passmanagers.plugin import list_stage_plugins

    for key, value in options.items():
        if value is None:
            continue
        if key in _STAGE_OF_METHOD or key == "unitary_synthesis_method":
            known = (
                list_stage_plugins(_STAGE_OF_METHOD[key])
                if key in _STAGE_OF_METHOD
                else unitary_synthesis_plugin_names()
            )
            if value not in known:
                raise ValueError(
                    f"transpiler_options.{key} {value!r} is not one of {', '.join(known)}."
                )
        elif key == "seed_transpiler":
            _seed(value, "transpiler_options.seed_transpiler")
        elif key == "optimization_level":
            check_optimization_level(value)
        elif key == "approximation_degree":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(
                    f"transpiler_options.approximation_degree must be in 0..1, not {value!r}."
                )
        elif key in ("qubits_initially_zero", "ignore_backend_supplied_default_methods"):
            if not isinstance(value, bool):
                raise ValueError(f"transpiler_options.{key} must be a boolean.")
        elif key == "unitary_synthesis_plugin_config":
            if not isinstance(value, Mapping):
                raise ValueError(f"transpiler_options.{key} must be a dict.")
        elif key == "initial_layout":
            qubits = list(value.values()) if isinstance(value, Mapping) else value
            if (
                not isinstance(qubits, list)
                or any(isinstance(q, bool) or not isinstance(q, int) for q in qubits)
                or any(not 0 <= q < num_qubits for q in qubits)
                or len(set(qubits)) != len(qubits)
            ):
                raise ValueError(
                    "transpiler_options.initial_layout must list distinct physical qubits "
                    f"in 0..{num_qubits - 1}."
                )


def experiment_count(num_circuits: int, params: Mapping[str, Any]) -> int:
    """How many experiments a circuit-runner job runs: each circuit once per parameter bind."""
    binds = params.get("parameter_binds")
    return num_circuits * (len(binds) if isinstance(binds, list) and binds else 1)
