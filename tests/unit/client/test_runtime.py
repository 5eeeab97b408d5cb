"""run_circuits, RuntimeJob and RunnerResult against the fake server of ``conftest``."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from qiskit import QuantumCircuit
from qiskit.exceptions import QiskitError
from qiskit.providers import JobStatus as QiskitJobStatus
from qiskit.result import QuasiDistribution
from qiskit.transpiler import Layout

from openqx.client import RunnerResult, RuntimeJob
from openqx.client import exceptions as exc
from openqx.client.provider import AccountProvider
from openqx.core import circuit_payload, wire
from openqx.core.status import JobStatus
from tests.unit.client.conftest import FakeServer

RESULT = {
    "backend_name": "ibmq_manila",
    "backend_version": "1.1.4",
    "qobj_id": "q",
    "job_id": "rt",
    "success": True,
    "results": [
        {
            "shots": 1000,
            "success": True,
            "data": {
                "counts": {"0x0": 480, "0x7": 470, "0x1": 50},
                "quasiprobabilities": {"0x0": 0.5, "0x7": 0.49, "0x1": 0.01},
            },
            "header": {"name": "ghz", "final_measurement_mapping": [0, 1, 2]},
        },
        {
            "shots": 1000,
            "success": True,
            "data": {"counts": {"0x1": 1000}, "quasiprobabilities": {"0x1": 1.0}},
            "header": {"name": "one", "final_measurement_mapping": [0, 1, 2, 3]},
        },
    ],
}


class RuntimeServer(FakeServer):
    """The conftest fake plus ``POST /v1/runtime/jobs``."""

    def __init__(self) -> None:
        super().__init__()
        self.runtime_submissions: list[dict[str, Any]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/runtime/jobs" and request.method == "POST":
            self.requests.append(request)
            body = json.loads(request.content)
            submission = wire.RuntimeJobSubmission.model_validate(body)
            self.runtime_submissions.append(body)
            job_id = self.add_job(
                JobStatus.QUEUED,
                kind="runtime",
                backend=submission.backend,
                program_id=submission.program_id,
                options={k: v for k, v in submission.params.items() if k != "circuits"},
            )
            self.jobs[job_id]["_qpy"] = submission.params["circuits"]
            return httpx.Response(201, json=self._public(job_id))
        return super().handler(request)


@pytest.fixture
def server() -> RuntimeServer:
    return RuntimeServer()


def ghz(n: int = 3) -> QuantumCircuit:
    qc = QuantumCircuit(n, name="ghz")
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    qc.measure_all()
    return qc


# --- RunnerResult -----------------------------------------------------------------------


def test_quasiprobabilities_are_decoded_and_padded() -> None:
    result = RunnerResult.from_dict(RESULT)
    both = result.get_quasiprobabilities()
    assert isinstance(both, list) and len(both) == 2
    first = result.get_quasiprobabilities(0)
    assert isinstance(first, QuasiDistribution)
    assert first.binary_probabilities() == {"000": 0.5, "111": 0.49, "001": 0.01}
    assert first.shots == 1000
    by_name = result.get_quasiprobabilities("one")
    assert by_name.binary_probabilities() == {"0001": 1.0}
    assert result.get_counts(0)["111"] == 470


def test_quasiprobabilities_missing_is_an_error() -> None:
    data = json.loads(json.dumps(RESULT))
    del data["results"][1]["data"]["quasiprobabilities"]
    result = RunnerResult.from_dict(data)
    assert result.get_quasiprobabilities(0).shots == 1000
    with pytest.raises(QiskitError, match="No quasiprobabilities"):
        result.get_quasiprobabilities(1)
    with pytest.raises(QiskitError):
        result.get_quasiprobabilities()


# --- run_circuits payload -------------------------------------------------------------


def test_run_circuits_payload(provider: AccountProvider, server: RuntimeServer) -> None:
    job = provider.run_circuits(
        [ghz(), ghz(2)],
        "ibmq_manila",
        shots=0,
        seed_transpiler=0,
        initial_layout=[2, 1, 0],
        layout_method="sabre",
        optimization_level=3,
        measurement_error_mitigation=True,
        transpiler_options={"approximation_degree": 1.0},
        memory=True,
    )
    assert isinstance(job, RuntimeJob)
    body = server.runtime_submissions[-1]
    assert body["program_id"] == "circuit-runner" and body["backend"] == "ibmq_manila"
    params = body["params"]
    assert params["shots"] == 0 and params["seed_transpiler"] == 0
    assert params["initial_layout"] == [2, 1, 0]
    assert params["layout_method"] == "sabre" and params["optimization_level"] == 3
    assert params["measurement_error_mitigation"] is True and params["init_qubits"] is True
    assert params["transpiler_options"] == {"approximation_degree": 1.0}
    assert params["memory"] is True
    for absent in ("routing_method", "translation_method", "rep_delay", "use_measure_esp"):
        assert absent not in params
    sent = circuit_payload.decode_circuits(params["circuits"])
    # Untranspiled: the circuits arrive as written.
    assert [c.count_ops() for c in sent] == [ghz().count_ops(), ghz(2).count_ops()]
    inputs = job.inputs
    assert [c.name for c in inputs["circuits"]] == ["ghz", "ghz"]
    assert inputs["shots"] == 0
    backend = job.backend()
    assert job.program_id == "circuit-runner"
    assert backend is not None and backend.name == "ibmq_manila"
    assert job.creation_date().tzinfo is not None


def test_run_circuits_single_circuit_and_defaults(
    provider: AccountProvider, server: RuntimeServer
) -> None:
    provider.run_circuits(ghz(), "ibmq_manila")
    params = server.runtime_submissions[-1]["params"]
    assert set(params) == {
        "circuits",
        "optimization_level",
        "init_qubits",
        "measurement_error_mitigation",
    }
    assert len(circuit_payload.decode_circuits(params["circuits"])) == 1


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ([0, 2, 1], [0, 2, 1]),
        ((4, 3, 2), [4, 3, 2]),
        ({0: 3, 1: 4, 2: 0}, [3, 4, 0]),
    ],
)
def test_initial_layout_forms(
    provider: AccountProvider, server: RuntimeServer, layout: Any, expected: list[int]
) -> None:
    provider.run_circuits(ghz(), "ibmq_manila", initial_layout=layout)
    assert server.runtime_submissions[-1]["params"]["initial_layout"] == expected


def test_initial_layout_from_qubits_and_layout(
    provider: AccountProvider, server: RuntimeServer
) -> None:
    circuit = ghz()
    qubits = circuit.qubits
    provider.run_circuits(
        circuit, "ibmq_manila", initial_layout={qubits[0]: 4, qubits[1]: 3, qubits[2]: 2}
    )
    assert server.runtime_submissions[-1]["params"]["initial_layout"] == [4, 3, 2]
    layout = Layout({qubits[0]: 1, qubits[1]: 0, qubits[2]: 2})
    provider.run_circuits(circuit, "ibmq_manila", initial_layout=layout)
    assert server.runtime_submissions[-1]["params"]["initial_layout"] == [1, 0, 2]


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ([], {}, "empty"),
        (["not a circuit"], {}, "QuantumCircuit"),
        (None, {"optimization_level": 4}, "optimization_level"),
        (None, {"optimization_level": -1}, "optimization_level"),
        (None, {"initial_layout": [0, 0, 1]}, "same physical qubit"),
        (None, {"initial_layout": [0, -1, 1]}, "non-negative"),
        (None, {"initial_layout": "0,1,2"}, "list, a dict or a Layout"),
        (None, {"initial_layout": {"a": 1}}, "keys"),
        (None, {"initial_layout": {2: 1, 0: 4}}, "each virtual qubit"),
        (None, {"rep_time": 1e-4}, "Unknown run option.*rep_time"),
        (None, {"shotz": 100}, "Unknown run option.*shotz"),
        (None, {"transpiler_options": [1]}, "dict"),
    ],
)
def test_run_circuits_bad_inputs(
    provider: AccountProvider, server: RuntimeServer, args: Any, kwargs: Any, match: str
) -> None:
    circuits = [ghz()] if args is None else args
    with pytest.raises(exc.OpenQXInputValueError, match=match):
        provider.run_circuits(circuits, "ibmq_manila", **kwargs)
    assert server.runtime_submissions == []


# --- RuntimeJob -----------------------------------------------------------------------


def test_result_status_logs(provider: AccountProvider, server: RuntimeServer) -> None:
    job = provider.run_circuits(ghz(), "ibmq_manila", measurement_error_mitigation=True)
    server.script(job.job_id(), JobStatus.RUNNING, JobStatus.DONE)
    server.results[job.job_id()] = RESULT
    result = job.result(timeout=5)
    assert isinstance(result, RunnerResult)
    assert job.status() is QiskitJobStatus.DONE
    quasi = result.get_quasiprobabilities(0)
    assert not isinstance(quasi, list)
    assert quasi.binary_probabilities()["111"] == 0.49
    assert job.error_message() is None
    assert "status: DONE" in job.logs()
    with pytest.raises(exc.RuntimeInvalidStateError, match="already DONE"):
        job.cancel()


def test_failed_runtime_job(provider: AccountProvider, server: RuntimeServer) -> None:
    job = provider.run_circuits(ghz(), "ibmq_manila")
    server.jobs[job.job_id()]["error"] = {"code": "transpile_failed", "message": "No layout."}
    server.script(job.job_id(), JobStatus.ERROR)
    with pytest.raises(exc.RuntimeJobFailureError, match="No layout"):
        job.result()
    assert "No layout" in job.error_message()
    assert "transpile_failed" in job.logs()


def test_cancel_runtime_job(provider: AccountProvider, server: RuntimeServer) -> None:
    job = provider.run_circuits(ghz(), "ibmq_manila")
    job.cancel()
    assert job.status() is QiskitJobStatus.CANCELLED
    with pytest.raises(exc.RuntimeInvalidStateError, match="cancelled"):
        job.result()


def test_wait_for_final_state_timeout(provider: AccountProvider, server: RuntimeServer) -> None:
    from qiskit.providers.exceptions import JobTimeoutError

    server.sse = False
    job = provider.run_circuits(ghz(), "ibmq_manila")
    with pytest.raises(JobTimeoutError):
        job.wait_for_final_state(timeout=0.1)


def test_runtime_jobs_and_job(provider: AccountProvider, server: RuntimeServer) -> None:
    first = provider.run_circuits(ghz(), "ibmq_manila")
    provider.run_circuits(ghz(), "ibmq_manila")
    jobs = provider.runtime.jobs(limit=5, pending=True)
    query = server.queries[-1]
    assert query["kind"] == "runtime" and query["limit"] == 5
    assert set(query["status"]) == {"INITIALIZING", "VALIDATING", "QUEUED", "RUNNING"}
    assert all(isinstance(job, RuntimeJob) for job in jobs) and len(jobs) == 2
    provider.runtime.jobs(pending=False)
    assert set(server.queries[-1]["status"]) == {"DONE", "CANCELLED", "ERROR"}
    again = provider.runtime.job(first.job_id())
    assert again.job_id() == first.job_id() and again.program_id == "circuit-runner"
    assert [c.name for c in again.inputs["circuits"]] == ["ghz"]
    with pytest.raises(exc.RuntimeJobNotFound):
        provider.runtime.job("missing")
    plain = server.add_job(JobStatus.DONE)
    with pytest.raises(exc.RuntimeJobNotFound, match="not a runtime job"):
        provider.runtime.job(plain)


def test_runtime_jobs_skip_over_several_pages(
    provider: AccountProvider, server: RuntimeServer
) -> None:
    server.page_size = 4
    ids = [
        server.add_job(JobStatus.DONE, kind="runtime", program_id=program)
        for program in ["circuit-runner", "other"] * 6
    ]
    newest_first = list(reversed(ids))
    jobs = provider.runtime.jobs(limit=None, skip=3)
    assert [job.job_id() for job in jobs] == newest_first[3:]
    assert [(q["cursor"], q["skip"]) for q in server.queries] == [(None, 3), ("7", 0), ("11", 0)]
    server.queries.clear()
    # The server filters by program (skip counts that program's jobs): pages carry only them.
    jobs = provider.runtime.jobs(limit=5, skip=1, program_id="circuit-runner")
    runners = [i for i in newest_first if server.jobs[i]["program_id"] == "circuit-runner"]
    assert [job.job_id() for job in jobs] == runners[1:6]
    assert all(job.program_id == "circuit-runner" for job in jobs)
    assert [(q["cursor"], q["skip"], q["limit"]) for q in server.queries] == [
        (None, 1, 5),
        ("5", 0, 1),
    ]
    assert {q["program_id"] for q in server.queries} == {"circuit-runner"}


def test_runtime_jobs_stop_on_an_empty_page(
    provider: AccountProvider, server: RuntimeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = iter(
        [wire.JobPage(jobs=[], next_cursor="again"), wire.JobPage(jobs=[], next_cursor="again")]
    )
    monkeypatch.setattr(provider.api_client, "search_jobs", lambda query: next(pages))
    assert provider.runtime.jobs(limit=None) == []


def test_services(provider: AccountProvider) -> None:
    assert provider.has_service("runtime")
    assert provider.services()["runtime"] is provider.runtime
