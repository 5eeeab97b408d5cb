"""Issue 3, ``backend.run``: every run parameter through the real server (SQLite and
PostgreSQL), stored and returned by the job."""

from __future__ import annotations

import math
import uuid
import warnings
from typing import Any

import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter
from qiskit.providers import JobStatus

from openqx.client.exceptions import OpenQXBackendValueError
from openqx.client.provider import AccountProvider
from openqx.core.wire import SHARE_LEVELS
from tests.e2e.circuits import ghz

TIMEOUT = 120


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_run_keeps_every_job_field_and_run_option(provider: AccountProvider) -> None:
    backend = provider.get_backend("fake_manila")
    conf = backend.configuration_dict()
    circuit = transpile(ghz(3), backend, seed_transpiler=5)
    low_delay, high_delay = (value * 1e-6 for value in conf["rep_delay_range"])
    rep_delay = (low_delay + high_delay) / 2
    rep_time = conf["rep_times"][0] * 1e-6
    qubit_lo = [sum(bounds) / 2 * 1e9 for bounds in conf["qubit_lo_range"]]
    meas_lo = [sum(bounds) / 2 * 1e9 for bounds in conf["meas_lo_range"]]
    name, experiment = _unique("every-field"), _unique("exp")
    with pytest.warns(UserWarning, match="flux_capacitor is not a recognized"):
        job = backend.run(
            circuit,
            job_name=name,
            job_share_level="project",
            job_tags=["alpha", "beta"],
            experiment_id=experiment,
            header={"run": 7, "who": "e2e"},
            shots=321,
            memory=True,
            init_qubits=False,
            rep_delay=rep_delay,
            rep_time=rep_time,
            meas_level=2,
            meas_return="single",
            memory_slots=3,
            memory_slot_size=50,
            use_measure_esp=False,
            qubit_lo_freq=qubit_lo,
            meas_lo_freq=meas_lo,
            live_data_enabled=True,
            flux_capacitor=1.21,
        )
    result = job.result(timeout=TIMEOUT)
    assert sum(result.get_counts(0).values()) == 321
    assert len(result.get_memory(0)) == 321
    header = result.results[0].header
    assert (header["run"] if isinstance(header, dict) else header.run) == 7

    # A fresh object built from the server's record, not the one that submitted.
    again = provider.backend.retrieve_job(job.job_id())
    assert again is not job
    assert again.name() == name
    assert again.share_level() == "project"
    assert sorted(again.tags()) == ["alpha", "beta"]
    assert again.experiment_id == experiment
    assert again.header() == {"run": 7, "who": "e2e"}
    assert again.info.live_data_enabled is True
    options = again.backend_options()
    expected = {
        "shots": 321,
        "memory": True,
        "init_qubits": False,
        "meas_level": 2,
        "meas_return": "single",
        "memory_slots": 3,
        "memory_slot_size": 50,
        "use_measure_esp": False,
        "flux_capacitor": 1.21,
    }
    assert {key: options.get(key) for key in expected} == expected
    assert math.isclose(options["rep_delay"], rep_delay)
    assert math.isclose(options["rep_time"], rep_time)
    assert options["qubit_lo_freq"] == pytest.approx(qubit_lo)
    assert options["meas_lo_freq"] == pytest.approx(meas_lo)


@pytest.mark.parametrize("level", SHARE_LEVELS)
def test_each_share_level_is_stored(provider: AccountProvider, level: str) -> None:
    backend = provider.get_backend("simulator_stabilizer")
    job = backend.run(transpile(ghz(2), backend), shots=1, job_share_level=level)
    assert job.share_level() == level
    assert provider.backend.retrieve_job(job.job_id()).share_level() == level


@pytest.mark.parametrize("level", ["public", "Global", 3, ""])
def test_bad_share_level_is_a_value_error(provider: AccountProvider, level: Any) -> None:
    backend = provider.get_backend("simulator_stabilizer")
    before = len(backend.jobs(limit=None))
    with pytest.raises(OpenQXBackendValueError, match="share level"):
        backend.run(transpile(ghz(2), backend), shots=1, job_share_level=level)
    assert len(backend.jobs(limit=None)) == before


@pytest.mark.parametrize("tags", ["one", {"one"}, ("one",), [1, 2, 3], ["ok", None]])
def test_job_tags_must_be_a_list_of_strings(provider: AccountProvider, tags: Any) -> None:
    backend = provider.get_backend("simulator_stabilizer")
    with pytest.raises(OpenQXBackendValueError, match="list of strings"):
        backend.run(transpile(ghz(2), backend), shots=1, job_tags=tags)


def test_shots_default_from_options_and_max_shots(provider: AccountProvider) -> None:
    backend = provider.get_backend("simulator_stabilizer")
    circuit = transpile(ghz(2), backend)
    default = backend.options.shots
    assert default == min(4000, backend.configuration().max_shots)
    job = backend.run(circuit)
    assert job.backend_options()["shots"] == default
    assert sum(job.result(timeout=TIMEOUT).get_counts().values()) == default
    too_many = backend.configuration().max_shots + 1
    with pytest.raises(OpenQXBackendValueError, match="max_shots"):
        backend.run(circuit, shots=too_many)


def test_set_options_apply_until_changed_and_run_keywords_win(provider: AccountProvider) -> None:
    backend = provider.get_backend("simulator_stabilizer")
    circuit = transpile(ghz(2), backend)
    original = backend.options.shots
    backend.set_options(shots=17, memory=True)
    try:
        first = backend.run(circuit)
        second = backend.run(circuit, shots=5, memory=False)
        third = backend.run(circuit)
    finally:
        backend.set_options(shots=original, memory=False)
    fourth = backend.run(circuit)
    assert [j.backend_options()["shots"] for j in (first, second, third, fourth)] == [
        17,
        5,
        17,
        original,
    ]
    assert [j.backend_options()["memory"] for j in (first, second, third, fourth)] == [
        True,
        False,
        True,
        False,
    ]
    assert sum(third.result(timeout=TIMEOUT).get_counts().values()) == 17
    assert len(third.result().get_memory()) == 17
    assert sum(second.result(timeout=TIMEOUT).get_counts().values()) == 5


def test_parameter_binds_give_m_times_n_named_experiments(provider: AccountProvider) -> None:
    backend = provider.get_backend("ibmq_qasm_simulator")
    theta = Parameter("theta")
    plain = QuantumCircuit(1, name="plain")
    plain.rx(theta, 0)
    plain.measure_all()
    flipped = QuantumCircuit(1, name="flipped")
    flipped.rx(theta, 0)
    flipped.x(0)
    flipped.measure_all()
    binds = [{theta: 0.0}, {theta: math.pi}, {theta: 0.0}]
    job = backend.run([plain, flipped], shots=50, parameter_binds=binds)
    result = job.result(timeout=TIMEOUT)
    assert len(result.results) == 6
    names = [
        exp.header.name if not isinstance(exp.header, dict) else exp.header["name"]
        for exp in result.results
    ]
    assert names == [f"{c}-bind{j}" for c in ("plain", "flipped") for j in range(3)]
    # circuit-major: every bind of "plain", then every bind of "flipped"
    expected = ["0", "1", "0", "1", "0", "1"]
    assert [result.get_counts(i) for i in range(6)] == [{bit: 50} for bit in expected]
    # each experiment can be found by its name
    assert result.get_counts("flipped-bind1") == {"0": 50}
    with pytest.raises(OpenQXBackendValueError, match="Mismatch"):
        backend.run(plain, parameter_binds=[{Parameter("phi"): 1.0}])


def test_rep_delay_rep_time_and_lo_ranges_are_checked(provider: AccountProvider) -> None:
    backend = provider.get_backend("fake_manila")
    conf = backend.configuration_dict()
    circuit = transpile(ghz(2), backend, seed_transpiler=1)
    high_delay = conf["rep_delay_range"][1] * 1e-6
    with pytest.raises(OpenQXBackendValueError, match="rep_delay"):
        backend.run(circuit, rep_delay=high_delay * 2)
    with pytest.raises(OpenQXBackendValueError, match="rep_time"):
        backend.run(circuit, rep_time=conf["rep_times"][0] * 1e-6 * 3)
    high_lo = conf["qubit_lo_range"][0][1] * 1e9
    with pytest.raises(OpenQXBackendValueError, match="qubit_lo_freq"):
        backend.run(circuit, qubit_lo_freq=[high_lo + 1e9])
    high_meas = conf["meas_lo_range"][0][1] * 1e9
    with pytest.raises(OpenQXBackendValueError, match="meas_lo_freq"):
        backend.run(circuit, meas_lo_freq=[high_meas + 1e9])
    with pytest.raises(OpenQXBackendValueError, match="meas_level"):
        backend.run(circuit, meas_level=7)
    with pytest.raises(OpenQXBackendValueError, match="meas_return"):
        backend.run(circuit, meas_return="sometimes")


def test_use_measure_esp_only_where_supported(provider: AccountProvider) -> None:
    manila = provider.get_backend("fake_manila")
    assert not manila.configuration_dict().get("measure_esp_enabled")
    with pytest.raises(OpenQXBackendValueError, match="ESP readout not supported"):
        manila.run(transpile(ghz(2), manila, seed_transpiler=1), use_measure_esp=True)
    # Left unset, it becomes the backend's flag.
    unset = manila.run(transpile(ghz(2), manila, seed_transpiler=1), shots=10)
    assert unset.backend_options()["use_measure_esp"] is False
    perth = provider.get_backend("fake_perth")
    assert perth.configuration_dict().get("measure_esp_enabled") is True
    job = perth.run(transpile(ghz(2), perth, seed_transpiler=1), shots=10, use_measure_esp=True)
    assert job.backend_options()["use_measure_esp"] is True
    assert job.result(timeout=TIMEOUT).success
    unset.wait_for_final_state(timeout=TIMEOUT)


def test_unknown_run_config_keys_warn_and_are_kept(provider: AccountProvider) -> None:
    backend = provider.get_backend("simulator_stabilizer")
    circuit = transpile(ghz(2), backend)
    with pytest.warns(UserWarning, match="my_knob is not a recognized"):
        job = backend.run(circuit, shots=3, my_knob={"depth": 2})
    assert provider.backend.retrieve_job(job.job_id()).backend_options()["my_knob"] == {"depth": 2}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # known keys draw no warning
        backend.run(circuit, shots=3, seed_simulator=4, init_qubits=True)


def test_live_data_enabled_and_experiment_id_round_trip(provider: AccountProvider) -> None:
    backend = provider.get_backend("simulator_stabilizer")
    circuit = transpile(ghz(2), backend)
    on = backend.run(circuit, shots=1, live_data_enabled=True, experiment_id="exp-on")
    off = backend.run(circuit, shots=1, live_data_enabled=False)
    unset = backend.run(circuit, shots=1)
    values = [
        provider.backend.retrieve_job(j.job_id()).info.live_data_enabled for j in (on, off, unset)
    ]
    assert values == [True, False, None]
    assert provider.backend.retrieve_job(on.job_id()).experiment_id == "exp-on"
    assert unset.experiment_id is None
    for job in (on, off, unset):
        assert job.result(timeout=TIMEOUT).success
        assert job.status() is JobStatus.DONE
