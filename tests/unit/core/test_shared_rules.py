"""The rules client, server and runner share: one home in ``openqx.core`` each."""

from __future__ import annotations

import pytest
from qiskit.circuit import Parameter, QuantumCircuit

from openqx.core import circuit_payload, circuit_runner, job_sets, paging, wire
from openqx.core.parameter_binds import check_parameter_binds


def _bell(name: str = "bell") -> QuantumCircuit:
    circuit = QuantumCircuit(2, name=name)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


def _rotation(name: str, *names: str) -> QuantumCircuit:
    circuit = QuantumCircuit(1, name=name)
    for parameter in names:
        circuit.rx(Parameter(parameter), 0)
    return circuit


# --- circuit payload ------------------------------------------------------------------


def test_encode_then_decode_gives_the_circuits_back() -> None:
    circuits = [_bell("a"), _rotation("b", "theta")]
    decoded = circuit_payload.decode_circuits(circuit_payload.encode_circuits(circuits))
    assert decoded == circuits
    assert circuit_payload.load_circuits(circuit_payload.dump_circuits(circuits)) == circuits


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not base64!", "'qpy' is not valid base64"),
        ("é", "'qpy' is not valid base64"),
        (wire.b64encode(b"not qpy"), "'qpy' is not a valid QPY payload"),
        (circuit_payload.encode_circuits([]), "'qpy' holds no circuits"),
    ],
)
def test_decode_refuses_what_is_not_circuits(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        circuit_payload.decode_circuits(text, source="'qpy'")


# --- parameter binds ------------------------------------------------------------------


def test_no_binds_is_one_experiment_per_circuit() -> None:
    assert check_parameter_binds([_bell()], None) == 1


def test_each_bind_is_one_experiment_per_circuit() -> None:
    circuits = [_rotation("a", "theta"), _rotation("b", "theta")]
    assert check_parameter_binds(circuits, [{"theta": 0}, {"theta": 1.5}]) == 2


@pytest.mark.parametrize(
    ("circuits", "binds", "message"),
    [
        ([_rotation("a", "phi")], None, r"Circuit 'a' has unbound parameters \(phi\)"),
        ([_bell()], [], "non-empty list"),
        ([_bell()], {"theta": 1}, "non-empty list"),
        ([_bell()], [1.0], "non-empty list"),
        ([_rotation("a", "t")], [{"t": "1"}], "value for 't' must be a number"),
        ([_rotation("a", "t")], [{"t": True}], "value for 't' must be a number"),
        ([_rotation("a", "t")], [{"t": 1, "u": 2}], "Mismatch.*circuit 'a'"),
        ([_rotation("a", "t"), _rotation("b", "u")], [{"t": 1}], "Mismatch.*circuit 'b'"),
    ],
)
def test_bad_binds_are_refused(circuits: list[QuantumCircuit], binds: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_parameter_binds(circuits, binds)


# --- circuit-runner inputs ------------------------------------------------------------


def test_circuit_runner_names_cover_the_run_options_and_transpiler() -> None:
    assert circuit_runner.RUN_CONFIG_OPTIONS <= circuit_runner.KNOWN_PARAMS
    assert set(circuit_runner.TRANSPILE_OPTIONS) <= circuit_runner.KNOWN_PARAMS
    assert {"circuits", "shots", "measurement_error_mitigation"} <= circuit_runner.KNOWN_PARAMS


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_optimization_levels_accepted(level: int) -> None:
    circuit_runner.check_optimization_level(level)


@pytest.mark.parametrize("level", [-1, 4, True, "1", None])
def test_optimization_levels_refused(level: object) -> None:
    with pytest.raises(ValueError, match="optimization_level must be 0, 1, 2 or 3"):
        circuit_runner.check_optimization_level(level)


# --- job sets and paging --------------------------------------------------------------


def test_job_set_tag_starts_with_the_reserved_prefix() -> None:
    tag = job_sets.job_set_tag("abc")
    assert tag == "openqx_jobset_abc_" and tag.startswith(job_sets.JOB_SET_TAG_PREFIX)


def test_users_may_not_claim_job_set_tags() -> None:
    job_sets.check_user_tags(None)
    job_sets.check_user_tags(["alpha", "openqx_jobs"])
    with pytest.raises(ValueError, match="reserved for job sets"):
        job_sets.check_user_tags(["alpha", job_sets.job_set_tag("abc")])


@pytest.mark.parametrize("limit", [None, 0, 1, 5000])
def test_limits_accepted(limit: int | None) -> None:
    assert paging.check_limit(limit) == limit


@pytest.mark.parametrize("value", [-1, True, 1.5, "3"])
def test_limit_and_skip_refused(value: object) -> None:
    with pytest.raises(ValueError, match="limit needs to be a non-negative integer"):
        paging.check_limit(value)
    with pytest.raises(ValueError, match="skip needs to be a non-negative integer"):
        paging.check_skip(value)


def test_skip_accepted() -> None:
    assert paging.check_skip(0) == 0 and paging.check_skip(7) == 7


@pytest.mark.parametrize(
    ("limit", "maximum", "size"),
    [
        (None, paging.MAX_PAGE, paging.MAX_PAGE),
        (0, 1000, 1000),
        (7, 1000, 7),
        (2000, 1000, 1000),
        (7, 4, 4),
    ],
)
def test_page_size(limit: int | None, maximum: int, size: int) -> None:
    assert paging.page_size(limit, maximum) == size
