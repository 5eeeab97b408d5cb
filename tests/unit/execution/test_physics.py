"""Run options that change the physics of emulated devices, each against its analytic value."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import IfElseOp
from qiskit.result import Result

from openqx.devices.catalog import default_catalog
from openqx.devices.device import Device
from openqx.execution import emulation, readout, usage
from openqx.execution.port import ExecutionError
from openqx.execution.runner import run_request
from tests.unit.execution.helpers import request

SHOTS = 20_000


def _sigma(p: float, shots: int = SHOTS) -> float:
    return math.sqrt(p * (1 - p) / shots)


@pytest.fixture(scope="module")
def manila() -> Device:
    return default_catalog().get("fake_manila")


def _anchor(device: Device) -> str:
    return device.history.anchors[0].id


def _param(device: Device, qubit: int, name: str) -> float:
    params = device.history.anchors[0].properties["qubits"][qubit]
    return float(next(p["value"] for p in params if p["name"] == name))


def _zero_and_one() -> list[QuantumCircuit]:
    zero = QuantumCircuit(1, 1, name="zero")
    zero.measure(0, 0)
    one = QuantumCircuit(1, 1, name="one")
    one.x(0)
    one.measure(0, 0)
    return [zero, one]


def _run(device: Device, circuits: list[QuantumCircuit], shots: int = SHOTS, **options: Any) -> Any:
    return emulation.run_emulated(
        device,
        _anchor(device),
        circuits,
        shots=shots,
        memory=bool(options.pop("memory", False)),
        options=options,
        seed_simulator=7,
    )


def _p1(data: dict[str, Any], shots: int = SHOTS) -> list[float]:
    return [float(c["data"]["counts"].get("0x1", 0)) / shots for c in data["results"]]


def test_classified_readout_keeps_the_snapshots_asymmetry(manila: Device) -> None:
    eps0 = _param(manila, 0, "prob_meas1_prep0")
    eps1 = _param(manila, 0, "prob_meas0_prep1")
    assert (eps0, eps1) == pytest.approx((0.0158, 0.0548))
    p_zero, p_one = _p1(_run(manila, _zero_and_one()))
    assert p_zero == pytest.approx(eps0, abs=4 * _sigma(eps0))
    # |1⟩ is also lost to the X gate's error (~3e-4) before it is read.
    assert 1 - p_one == pytest.approx(eps1 + 0.0005, abs=4 * _sigma(eps1) + 0.0005)


def test_kerneled_single_shots_reproduce_the_assignment_errors(manila: Device) -> None:
    data = _run(manila, _zero_and_one(), meas_level=1, meas_return="single")
    alpha = readout.readout_angle(0)
    misread = []
    for state, exp in enumerate(data["results"]):
        assert exp["meas_level"] == 1 and exp["meas_return"] == "single"
        points = np.array(exp["data"]["memory"])  # [shot, slot, (I, Q)]
        assert points.shape == (SHOTS, 1, 2)
        z = points[:, 0, 0] + 1j * points[:, 0, 1]
        # The midpoint discriminator: the line through the origin at the readout angle.
        reads_one = np.angle(z * np.exp(-1j * alpha)) > 0
        misread.append(float(np.mean(reads_one if state == 0 else ~reads_one)))
    eps0 = _param(manila, 0, "prob_meas1_prep0")
    eps1 = _param(manila, 0, "prob_meas0_prep1")
    assert misread[0] == pytest.approx(eps0, abs=4 * _sigma(eps0))
    assert misread[1] == pytest.approx(eps1 + 0.0005, abs=4 * _sigma(eps1) + 0.0005)


def test_kerneled_averages_are_the_model_means(manila: Device) -> None:
    data = _run(manila, _zero_and_one(), meas_level=1, meas_return="avg")
    snapshot = manila.history.anchors[0]
    model = readout.readout_model(snapshot.properties, manila.configuration, {}, [0])
    for state, exp in enumerate(data["results"]):
        (point,) = exp["data"]["memory"]
        assert complex(*point) == pytest.approx(model.qubits[0].mean_iq(state), abs=0.02)
    result = Result.from_dict({**data, "job_id": "j"})
    assert result.get_memory(0).shape == (1,)


def test_rep_delay_zero_without_init_alternates(manila: Device) -> None:
    x_measure = _zero_and_one()[1]
    data = _run(manila, [x_measure], shots=2000, memory=True, init_qubits=False, rep_delay=0.0)
    bits = np.array([int(h, 16) for h in data["results"][0]["data"]["memory"]])
    # Each shot flips the previous one: consecutive shots differ except for readout errors.
    same = float(np.mean(bits[1:] == bits[:-1]))
    assert same < 0.15
    with_init = _run(manila, [x_measure], shots=2000, memory=True)
    bits = np.array([int(h, 16) for h in with_init["results"][0]["data"]["memory"]])
    assert float(np.mean(bits[1:] == bits[:-1])) > 0.85


def test_short_rep_delay_leaves_the_residual_excitation_of_t1(manila: Device) -> None:
    rep_delay = 100e-6
    t1 = _param(manila, 0, "T1") * 1e-6
    decay = 1 - math.exp(-rep_delay / t1)
    # Chain of true outcomes: 0 → 1 always; 1 → 1 if it survived the delay (then X → 0 ...).
    # X takes a survivor to 0, so P(1) solves π1 = π0 + decay·π1.
    pi1 = 1 / (2 - decay)
    eps0 = _param(manila, 0, "prob_meas1_prep0")
    eps1 = _param(manila, 0, "prob_meas0_prep1")
    expected = pi1 * (1 - eps1) + (1 - pi1) * eps0
    shots = 6000
    data = _run(manila, [_zero_and_one()[1]], shots=shots, init_qubits=False, rep_delay=rep_delay)
    (p1,) = _p1(data, shots)
    # Shots are correlated (a Markov chain): allow twice the independent-shot error.
    assert p1 == pytest.approx(expected, abs=8 * _sigma(expected, shots) + 0.003)
    assert expected > 0.6  # clearly above the 0.5 of a long delay's alternation


def test_esp_off_adds_the_relaxation_during_readout() -> None:
    cairo = default_catalog().get("fake_cairo")
    assert cairo.configuration["measure_esp_enabled"] is True
    props = cairo.history.anchors[0].properties
    on = readout.readout_model(props, cairo.configuration, {"use_measure_esp": True}, [0])
    off = readout.readout_model(props, cairo.configuration, {"use_measure_esp": False}, [0])
    t1 = _param(cairo, 0, "T1") * 1e-6
    length = _param(cairo, 0, "readout_length") * 1e-9
    relax = 1 - math.exp(-length / (2 * t1))
    eps0_on, eps1_on = on.assignment_errors(0)
    eps0_off, eps1_off = off.assignment_errors(0)
    assert eps1_on == pytest.approx(_param(cairo, 0, "prob_meas0_prep1"), rel=1e-3)
    assert eps1_off - eps1_on == pytest.approx(relax - relax**2, rel=1e-3)
    assert eps0_off == pytest.approx(eps0_on)


def test_meas_lo_detuning_degrades_readout(manila: Device) -> None:
    props = manila.history.anchors[0].properties
    defaults = manila.defaults(_anchor(manila))
    assert defaults is not None
    est = defaults.meas_freq_est
    centred = readout.readout_model(props, manila.configuration, {}, [0], est)
    detuned_lo = [est[0] + readout.RESONATOR_LINEWIDTH_HZ]  # Hz, as the run option
    detuned = readout.readout_model(
        props, manila.configuration, {"meas_lo_freq": detuned_lo}, [0], est
    )
    assert centred.assignment_errors(0) == pytest.approx(
        (_param(manila, 0, "prob_meas1_prep0"), _param(manila, 0, "prob_meas0_prep1")), rel=1e-3
    )
    # Δ = κ: the separation shrinks by 1/√5, so the |0⟩ error is Q(SNR/√5).
    eps0 = centred.assignment_errors(0)[0]
    snr = -__import__("statistics").NormalDist().inv_cdf(eps0)
    expected = __import__("statistics").NormalDist().cdf(-snr / math.sqrt(5))
    assert detuned.assignment_errors(0)[0] == pytest.approx(expected, rel=1e-6)
    assert detuned.assignment_errors(0)[1] > centred.assignment_errors(0)[1]


def test_detuned_qubit_lo_precesses_during_delays(manila: Device) -> None:
    frequency = _param(manila, 0, "frequency") * 1e9
    delta = 1e6  # f_qubit − f_LO
    ramsey = QuantumCircuit(1, 1, name="ramsey")
    ramsey.sx(0)
    ramsey.delay(500, 0, unit="ns")  # Δ·t = 1/2: a phase of π
    ramsey.sx(0)
    ramsey.measure(0, 0)
    (on_resonance,) = _p1(_run(manila, [ramsey], shots=4000), 4000)
    (detuned,) = _p1(_run(manila, [ramsey], shots=4000, qubit_lo_freq=[frequency - delta]), 4000)
    # sx·sx = X reads 1; sx·RZ(π)·sx reads 0 (up to readout and decoherence).
    assert on_resonance > 0.9
    assert detuned < 0.1
    circuit = emulation.with_lo_detuning(ramsey, {0: delta}, None)
    (rz,) = [i.operation for i in circuit.data if i.operation.name == "rz"]
    assert float(rz.params[0]) == pytest.approx(math.pi)


def test_detuned_qubit_lo_precesses_during_delays_inside_control_flow(manila: Device) -> None:
    # The same Ramsey with its delay inside a for loop and inside a taken if: the qubit
    # precesses there as well (before, only top-level delays were detuned).
    frequency = _param(manila, 0, "frequency") * 1e9
    delta = 1e6
    looped = QuantumCircuit(2, 2, name="looped")
    looped.sx(0)
    with looped.for_loop(range(1)):
        looped.delay(500, 0, unit="ns")
    looped.sx(0)
    looped.measure(0, 0)
    branched = QuantumCircuit(2, 2, name="branched")
    branched.measure(1, 1)  # reads 0 (up to readout error): the branch is taken
    branched.sx(0)
    with branched.if_test((branched.clbits[1], 0)):
        branched.delay(500, 0, unit="ns")
    branched.sx(0)
    branched.measure(0, 0)
    for circuit in (looped, branched):
        (on_resonance,) = _p1(_run(manila, [circuit], shots=4000), 4000)
        lo = [frequency - delta, _param(manila, 1, "frequency") * 1e9]
        (detuned,) = _p1(_run(manila, [circuit], shots=4000, qubit_lo_freq=lo), 4000)
        assert on_resonance > 0.9, circuit.name
        assert detuned < 0.15, circuit.name
    # Only the detuned qubit's delays get the rotation, on the qubit the block maps it to.
    swapped = QuantumCircuit(2)
    with swapped.for_loop(range(1)):
        swapped.delay(500, 1, unit="ns")
    (loop,) = emulation.with_lo_detuning(swapped, {1: delta}, None).data
    (_, rz) = loop.operation.blocks[0].data
    assert rz.operation.name == "rz"
    assert float(rz.operation.params[0]) == pytest.approx(math.pi)
    assert emulation.with_lo_detuning(swapped, {0: delta}, None) is not swapped
    (untouched,) = emulation.with_lo_detuning(swapped, {0: delta}, None).data
    assert [i.operation.name for i in untouched.operation.blocks[0].data] == ["delay"]


def test_memory_slots_shape_the_classical_memory(manila: Device) -> None:
    bell = QuantumCircuit(2, 2, name="bell")
    bell.x(0)
    bell.measure([0, 1], [0, 1])
    for level in (2, 1):
        data = _run(
            manila,
            [bell],
            shots=50,
            memory=True,
            memory_slots=4,
            meas_level=level,
            meas_return="single",
        )
        result = Result.from_dict({**data, "job_id": "j"})
        memory = result.get_memory(0)
        if level == 2:
            assert all(len(key) == 4 for key in result.get_counts(0))
            assert all(len(key) == 4 for key in memory)
            assert result.get_counts(0).get("0001", 0) > 40
        else:
            assert np.asarray(memory).shape == (50, 4)
            assert np.all(np.asarray(memory)[:, 2:] == 0)
    with pytest.raises(ExecutionError, match="memory_slots 1 is smaller"):
        _run(manila, [bell], shots=5, memory_slots=1)


def test_refusals(manila: Device) -> None:
    with pytest.raises(ExecutionError, match="meas_level 0"):
        _run(manila, _zero_and_one(), shots=5, meas_level=0)
    dynamic = QuantumCircuit(1, 1)
    dynamic.measure(0, 0)
    body = QuantumCircuit(1, 1)
    body.x(0)
    dynamic.append(IfElseOp((dynamic.clbits[0], 1), body), [0], [0])
    with pytest.raises(ExecutionError, match="control flow"):
        _run(manila, [dynamic], shots=5, meas_level=1)


def test_usage_is_shots_times_duration_and_rep_delay(manila: Device) -> None:
    data = _run(manila, _zero_and_one(), shots=100, rep_delay=100e-6)
    recorded = data["metadata"]["usage"]
    durations = recorded["circuit_durations"]
    assert durations[1] > durations[0] > 0  # the X gate adds its length
    assert recorded["quantum_seconds"] == pytest.approx(100 * (sum(durations) + 2 * 100e-6))
    fixed = usage.job_usage([1e-6, 2e-6], 10, {}, {"rep_times": [1000.0]})
    assert fixed["quantum_seconds"] == pytest.approx(10 * 2 * 1e-3)
    assert usage.job_usage([1e-6], 10, {"rep_delay": 5e-4}, {"dynamic_reprate_enabled": True})[
        "quantum_seconds"
    ] == pytest.approx(10 * (1e-6 + 5e-4))


def test_run_request_uses_the_physics_on_devices() -> None:
    data = run_request(
        request(
            "fake_manila",
            _zero_and_one(),
            shots=200,
            options={"meas_level": 1, "meas_return": "avg", "seed_simulator": 3},
        )
    )
    assert data["job_id"] == "job1"
    assert [exp["meas_level"] for exp in data["results"]] == [1, 1]
    assert "usage" in data["metadata"]
    assert len(data["results"][0]["data"]["memory"]) == 1
