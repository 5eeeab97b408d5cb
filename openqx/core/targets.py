"""Build a qiskit ``Target`` from a backend's configuration and calibration properties.

Both sides need it: the client so that ``transpile(circuit, backend)`` works, the server to
check at submission that circuits are valid for the target. Real devices go through
qiskit-ibm-runtime's converter (the same one its fake backends use); simulators get an
all-to-all target of ideal instructions, like ``AerSimulator``'s, so transpiling does not
widen a circuit to the simulator's qubit limit.
"""

from __future__ import annotations

from typing import Any

from qiskit.circuit import (
    Delay,
    ForLoopOp,
    IfElseOp,
    Measure,
    Parameter,
    Reset,
    SwitchCaseOp,
    WhileLoopOp,
)
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.transpiler import Target

__all__ = ["build_target", "SIMULATOR_CONTROL_FLOW"]

SIMULATOR_CONTROL_FLOW = {
    "if_else": IfElseOp,
    "while_loop": WhileLoopOp,
    "for_loop": ForLoopOp,
    "switch_case": SwitchCaseOp,
}


def build_target(configuration: dict[str, Any], properties: dict[str, Any] | None) -> Target:
    """Return the target for a configuration dict and an optional properties dict."""
    if configuration.get("simulator"):
        return _simulator_target(configuration)
    from qiskit_ibm_runtime.models import BackendConfiguration, BackendProperties
    from qiskit_ibm_runtime.utils.backend_converter import convert_to_target

    conf = BackendConfiguration.from_dict(configuration)
    props = BackendProperties.from_dict(properties) if properties else None
    return convert_to_target(conf, props, include_control_flow=True)


def _simulator_target(configuration: dict[str, Any]) -> Target:
    target = Target(
        description=configuration.get("description"),
        num_qubits=int(configuration["n_qubits"]),
        dt=configuration.get("dt"),
    )
    standard = get_standard_gate_name_mapping()
    names = list(
        dict.fromkeys([*configuration.get("basis_gates", []), "measure", "reset", "delay"])
    )
    for name in names:
        if name in SIMULATOR_CONTROL_FLOW:
            target.add_instruction(SIMULATOR_CONTROL_FLOW[name], name=name)
        elif name == "measure":
            target.add_instruction(Measure())
        elif name == "reset":
            target.add_instruction(Reset())
        elif name == "delay":
            target.add_instruction(Delay(Parameter("t")))
        elif name in standard:
            target.add_instruction(standard[name])
    return target
