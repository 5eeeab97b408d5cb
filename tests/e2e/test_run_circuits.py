"""run_circuits on a real server: mitigation helps on fake_manila; bad inputs are refused."""

from __future__ import annotations

import math
from typing import Any

import pytest
from qiskit.providers import JobStatus

from openqx.client import RunnerResult
from openqx.client import exceptions as exc
from openqx.client.provider import AccountProvider
from tests.e2e.circuits import ghz

IDEAL = {"000": 0.5, "111": 0.5}


def hellinger(p: dict[str, float], q: dict[str, float]) -> float:
    keys = set(p) | set(q)
    total = sum((math.sqrt(max(p.get(k, 0.0), 0.0)) - math.sqrt(q.get(k, 0.0))) ** 2 for k in keys)
    return math.sqrt(total / 2)


def test_mitigated_ghz3_is_closer_to_ideal(provider: AccountProvider) -> None:
    job = provider.run_circuits(
        ghz(3),
        "fake_manila",
        shots=4000,
        measurement_error_mitigation=True,
        seed_transpiler=0,
        seed_simulator=7,
    )
    result = job.result(timeout=240)
    assert isinstance(result, RunnerResult)
    assert job.status() is JobStatus.DONE
    counts = result.get_counts(0)
    raw = {k.replace(" ", ""): v / 4000 for k, v in counts.items()}
    quasi = result.get_quasiprobabilities(0)
    assert not isinstance(quasi, list)
    assert quasi.shots == 4000
    mitigated = quasi.binary_probabilities()
    assert all(len(key) == 3 for key in mitigated)
    assert hellinger(mitigated, IDEAL) < hellinger(raw, IDEAL)
    assert job.inputs["circuits"][0].name == "ghz3"
    assert provider.runtime.job(job.job_id()).job_id() == job.job_id()
    assert job.job_id() in [j.job_id() for j in provider.runtime.jobs(limit=50)]
    with pytest.raises(exc.RuntimeInvalidStateError):
        job.cancel()


def test_without_mitigation_there_are_no_quasiprobabilities(provider: AccountProvider) -> None:
    from qiskit.exceptions import QiskitError

    result = provider.run_circuits([ghz(2), ghz(3)], "fake_manila", shots=100).result(timeout=240)
    assert len(result.results) == 2
    with pytest.raises(QiskitError, match="quasiprobabilities"):
        result.get_quasiprobabilities()


@pytest.mark.parametrize(
    ("circuits", "kwargs", "match"),
    [
        ([], {}, "empty"),
        (["ghz"], {}, "QuantumCircuit"),
        (None, {"optimization_level": 5}, "optimization_level"),
        (None, {"initial_layout": [0, 0, 1]}, "same physical qubit"),
        (None, {"not_an_option": 1}, "not_an_option"),
    ],
)
def test_bad_inputs_client_side(
    provider: AccountProvider, circuits: list[Any] | None, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(exc.OpenQXInputValueError, match=match):
        provider.run_circuits([ghz(3)] if circuits is None else circuits, "fake_manila", **kwargs)


def test_bad_inputs_server_side(provider: AccountProvider) -> None:
    # Out of range for a 5-qubit device: only the server knows the device size.
    with pytest.raises(exc.OpenQXInputValueError, match="out of range"):
        provider.run_circuits(ghz(3), "fake_manila", initial_layout=[0, 1, 9])
    with pytest.raises(exc.OpenQXInputValueError, match="Unknown circuit-runner option"):
        provider.runtime.run(
            "circuit-runner", {"backend_name": "fake_manila"}, {"circuits": [ghz(2)], "bogus": 1}
        )
