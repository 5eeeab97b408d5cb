from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from openqx.core import run_options as ro


@pytest.fixture(scope="module")
def manila() -> dict[str, Any]:
    path = resources.files("qiskit_ibm_runtime.fake_provider.backends.manila") / "conf_manila.json"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.mark.parametrize("tags", [None, [], ["a", "b"]])
def test_tags_ok(tags: list[str] | None) -> None:
    assert ro.validate_job_tags(tags) == tags


@pytest.mark.parametrize("tags", ["a", {"a"}, [1, 2, 3], ("a",), ["a", 1]])
def test_tags_type(tags: object) -> None:
    with pytest.raises(ValueError, match="job_tags needs to be a list of strings."):
        ro.validate_job_tags(tags)


@pytest.mark.parametrize("tags", [[""], ["x" * 257], ["t"] * 101])
def test_tags_limits(tags: list[str]) -> None:
    with pytest.raises(ValueError):
        ro.validate_job_tags(tags)


def test_tags_max_ok() -> None:
    assert ro.validate_job_tags(["x" * 256] * 100)


def test_share_level() -> None:
    assert ro.validate_share_level(None) is None
    for level in ("global", "hub", "group", "project", "none"):
        assert ro.validate_share_level(level) == level
    with pytest.raises(ValueError, match="share level"):
        ro.validate_share_level("world")


def test_job_name() -> None:
    assert ro.validate_job_name(None) is None
    assert ro.validate_job_name("n") == "n"
    with pytest.raises(ValueError):
        ro.validate_job_name(3)
    with pytest.raises(ValueError):
        ro.validate_job_name("x" * 257)


@pytest.mark.parametrize("shots", [True, 1.0, "10", 0, -1, 100001])
def test_shots_bad(shots: object, manila: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ro.validate_shots(shots, manila)


def test_shots_ok(manila: dict[str, Any]) -> None:
    assert ro.validate_shots(1, manila) == 1
    assert ro.validate_shots(100000, manila) == 100000


def test_unknown_key_warns(manila: dict[str, Any]) -> None:
    assert ro.validate_run_options({"foo": 1, "shots": 10}, manila) == [
        "foo is not a recognized runtime option and may be ignored by the backend."
    ]
    assert ro.validate_run_options({"foo": None}, manila) == []


def test_rep_delay_units(manila: dict[str, Any]) -> None:
    # manila: rep_delay_range [0, 500] microseconds
    assert ro.validate_run_options({"rep_delay": 250e-6}, manila) == []
    assert ro.validate_run_options({"rep_delay": 500e-6}, manila) == []
    with pytest.raises(ValueError, match="rep_delay"):
        ro.validate_run_options({"rep_delay": 501e-6}, manila)
    with pytest.raises(ValueError, match="rep_delay"):
        ro.validate_run_options({"rep_delay": 250.0}, manila)


def test_rep_delay_not_dynamic(manila: dict[str, Any]) -> None:
    conf = dict(manila, dynamic_reprate_enabled=False)
    warnings = ro.validate_run_options({"rep_delay": 250e-6}, conf)
    assert any("rep_delay" in w for w in warnings)


def test_rep_time(manila: dict[str, Any]) -> None:
    assert ro.validate_run_options({"rep_time": 1000e-6}, manila) == []
    with pytest.raises(ValueError, match="rep_time"):
        ro.validate_run_options({"rep_time": 1000}, manila)


def test_meas_level_and_return(manila: dict[str, Any]) -> None:
    assert ro.validate_run_options({"meas_level": 1, "meas_return": "single"}, manila) == []
    with pytest.raises(ValueError, match="meas_level"):
        ro.validate_run_options({"meas_level": 0}, manila)
    conf = dict(manila, meas_levels=[1])
    assert ro.validate_run_options({"meas_level": 2}, conf) == []
    with pytest.raises(ValueError, match="meas_return"):
        ro.validate_run_options({"meas_return": "sum"}, manila)


def test_esp(manila: dict[str, Any]) -> None:
    assert ro.validate_run_options({"use_measure_esp": False}, manila) == []
    with pytest.raises(ValueError, match="ESP readout not supported on this device"):
        ro.validate_run_options({"use_measure_esp": True}, manila)
    assert (
        ro.validate_run_options({"use_measure_esp": True}, dict(manila, measure_esp_enabled=True))
        == []
    )


def test_lo_freq_units(manila: dict[str, Any]) -> None:
    ok = [5.0e9, 4.9e9]
    assert ro.validate_run_options({"qubit_lo_freq": ok}, manila) == []
    with pytest.raises(ValueError, match="qubit_lo_freq"):
        ro.validate_run_options({"qubit_lo_freq": [5.0]}, manila)  # GHz, not Hz
    assert ro.validate_run_options({"meas_lo_freq": [7.0e9]}, manila) == []
    with pytest.raises(ValueError, match="meas_lo_freq"):
        ro.validate_run_options({"meas_lo_freq": [9.0e9]}, manila)


def test_init_qubits_and_slots(manila: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="init_qubits"):
        ro.validate_run_options({"init_qubits": 1}, manila)
    for key in ("memory_slots", "memory_slot_size"):
        with pytest.raises(ValueError, match=key):
            ro.validate_run_options({key: 0}, manila)
        with pytest.raises(ValueError, match=key):
            ro.validate_run_options({key: True}, manila)
        assert ro.validate_run_options({key: 3}, manila) == []


def test_dynamic(manila: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not supported"):
        ro.validate_run_options({"dynamic": True}, manila)


def test_known_options_constant() -> None:
    assert {"shots", "rep_delay", "use_measure_esp", "parameter_binds"} <= ro.KNOWN_RUN_OPTIONS


@pytest.mark.parametrize("seed", ["7", 1.5, True, -1])
def test_seed_simulator_must_be_a_non_negative_integer(seed: object) -> None:
    with pytest.raises(ValueError, match="seed_simulator"):
        ro.validate_run_options({"seed_simulator": seed}, {"simulator": True})
