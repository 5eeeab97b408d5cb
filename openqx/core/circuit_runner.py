"""The ``circuit-runner`` program's inputs: names and the checks both sides apply.

``provider.runtime.run_circuits`` builds these inputs; ``openqx.execution.circuit_runner``
checks them again at submission and runs them.
"""

from __future__ import annotations

__all__ = [
    "KNOWN_PARAMS",
    "OPTIMIZATION_LEVELS",
    "PROGRAM_ID",
    "RUN_CONFIG_OPTIONS",
    "TRANSPILE_OPTIONS",
    "check_optimization_level",
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
