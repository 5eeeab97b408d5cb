"""Hostile requests get a 4xx naming the problem, store nothing, and leave the service answering.

Each case is a request body as raw JSON text (so that lone surrogates, NaN and huge numbers
reach the server as an attacker would send them), the answer's status, and words the error
message must hold. The service is the in-process one on ``MemoryJobStore`` (SQLite in memory,
so the database's own limits are met too).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter

from openqx.core import wire
from openqx.core.circuit_payload import dump_circuits
from tests.unit.server.harness import Harness, bell, qpy_b64

BELL = qpy_b64(bell())
SIM = "ibmq_qasm_simulator"


def _parametrized() -> str:
    theta = Parameter("theta")
    circuit = QuantumCircuit(1, name="rx")
    circuit.rx(theta, 0)
    circuit.measure_all()
    return qpy_b64(circuit)


RX = _parametrized()


def _tiny_circuits(count: int) -> str:
    circuit = QuantumCircuit(1, 1)
    circuit.measure(0, 0)
    return qpy_b64(*[circuit] * count)


def _nested(depth: int, leaf: str = "1") -> str:
    return '{"a":' * depth + leaf + "}" * depth


def _deep_filter(depth: int) -> str:
    return '{"and":[' * depth + '{"name":"x"}' + "]}" * depth


@dataclass(frozen=True)
class Case:
    """One hostile request: where it goes, its raw JSON body, and the answer it must get."""

    path: str
    body: str
    status: int
    needles: tuple[str, ...]


def _job(extra: str, qpy: str = BELL, backend: str = SIM) -> str:
    return f'{{"backend":"{backend}","qpy":"{qpy}"{extra}}}'


def _runtime(params: str, extra: str = "") -> str:
    return f'{{"program_id":"circuit-runner","backend":"{SIM}","params":{params}{extra}}}'


def _search(fields: str) -> str:
    return "{" + fields + "}"


def _truncated_qpy() -> str:
    data = dump_circuits([bell()])
    return wire.b64encode(data[:40])


CASES: dict[str, Case] = {
    # integers beyond what the database or Aer holds
    "skip 2**63": Case("/v1/jobs/search", _search(f'"skip":{2**63}'), 400, ("skip",)),
    "limit 2**64": Case("/v1/jobs/search", _search(f'"limit":{2**64}'), 400, ("limit",)),
    "db_filter shots 2**64": Case(
        "/v1/jobs/search", _search(f'"db_filter":{{"shots":{2**64}}}'), 400, ("shots", "range")
    ),
    "db_filter shots gt 2**63": Case(
        "/v1/jobs/search",
        _search(f'"db_filter":{{"shots":{{"gt":{2**63}}}}}'),
        400,
        ("shots", "range"),
    ),
    "seed_simulator 2**64": Case(
        "/v1/jobs", _job(f',"options":{{"seed_simulator":{2**64}}}'), 400, ("seed_simulator",)
    ),
    "runtime seed_simulator 2**64": Case(
        "/v1/runtime/jobs",
        _runtime(f'{{"circuits":"{BELL}","seed_simulator":{2**64}}}'),
        400,
        ("seed_simulator",),
    ),
    # dates that overflow when converted to UTC
    "start_datetime year 1 +14:00": Case(
        "/v1/jobs/search",
        _search('"start_datetime":"0001-01-01T00:00:00+14:00"'),
        400,
        ("start_datetime", "UTC"),
    ),
    "end_datetime year 9999 -14:00": Case(
        "/v1/jobs/search",
        _search('"end_datetime":"9999-12-31T23:59:59-14:00"'),
        400,
        ("end_datetime", "UTC"),
    ),
    "db_filter creationDate overflow": Case(
        "/v1/jobs/search",
        _search('"db_filter":{"creationDate":{"gt":"0001-01-01T00:00:00+14:00"}}'),
        400,
        ("creationDate", "UTC"),
    ),
    # lengths
    "10,000 tags": Case("/v1/jobs", _job(',"tags":' + json.dumps(["t"] * 10_000)), 400, ("tags",)),
    "long name": Case("/v1/jobs", _job(',"name":"' + "n" * 100_000 + '"'), 400, ("name",)),
    "long tag": Case("/v1/jobs", _job(',"tags":["' + "t" * 10_000 + '"]'), 400, ("tags",)),
    "long backend": Case("/v1/jobs", _job("", backend="b" * 10_000), 400, ("backend",)),
    "long search backend": Case(
        "/v1/jobs/search", _search('"backend":"' + "b" * 10_000 + '"'), 400, ("backend",)
    ),
    # text no database column can hold
    "surrogate in name": Case("/v1/jobs", _job(',"name":"a\\ud800b"'), 400, ("name",)),
    "surrogate in tag": Case("/v1/jobs", _job(',"tags":["a\\ud800b"]'), 400, ("tags",)),
    "surrogate in backend": Case("/v1/jobs", _job("", backend="a\\ud800b"), 400, ("backend",)),
    "surrogate in search backend": Case(
        "/v1/jobs/search", _search('"backend":"a\\ud800b"'), 400, ("backend",)
    ),
    "surrogate in db_filter value": Case(
        "/v1/jobs/search", _search('"db_filter":{"name":"a\\ud800b"}'), 400, ("name",)
    ),
    "surrogate in db_filter key": Case(
        "/v1/jobs/search", _search('"db_filter":{"a\\ud800b":1}'), 400, ("Unknown field",)
    ),
    "surrogate in header": Case("/v1/jobs", _job(',"header":{"k":"a\\udfffb"}'), 400, ("header",)),
    "NUL in name": Case("/v1/jobs", _job(',"name":"a\\u0000b"'), 400, ("name", "NUL")),
    "NUL in tag": Case("/v1/jobs", _job(',"tags":["a\\u0000b"]'), 400, ("tags", "NUL")),
    "NUL in backend": Case("/v1/jobs", _job("", backend="a\\u0000b"), 400, ("backend", "NUL")),
    "NUL in header key": Case("/v1/jobs", _job(',"header":{"a\\u0000":1}'), 400, ("NUL",)),
    "NUL in rename": Case("PATCH", '{"name":"a\\u0000b"}', 400, ("name", "NUL")),
    # nesting
    "header 500 deep": Case("/v1/jobs", _job(',"header":' + _nested(500)), 400, ("header",)),
    "options 40 deep": Case("/v1/jobs", _job(',"options":' + _nested(40)), 400, ("options",)),
    "runtime params 40 deep": Case(
        "/v1/runtime/jobs", _runtime(_nested(40)), 400, ("params", "nested")
    ),
    "db_filter 20 deep": Case(
        "/v1/jobs/search", _search('"db_filter":' + _deep_filter(20)), 400, ("deeper",)
    ),
    "db_filter 500 deep": Case(
        "/v1/jobs/search", _search('"db_filter":' + _deep_filter(500)), 400, ("nested",)
    ),
    "db_filter 1000 conditions": Case(
        "/v1/jobs/search",
        _search('"db_filter":{"or":' + json.dumps([{"name": "x"}] * 1000) + "}"),
        400,
        ("conditions",),
    ),
    "db_filter inq 5000 values": Case(
        "/v1/jobs/search",
        _search('"db_filter":{"name":{"inq":' + json.dumps(["x"] * 5000) + "}}"),
        400,
        ("inq", "name"),
    ),
    # parameter binds
    "bind NaN": Case(
        "/v1/jobs", _job(',"options":{"parameter_binds":[{"theta":NaN}]}', RX), 400, ("theta",)
    ),
    "bind Infinity": Case(
        "/v1/jobs",
        _job(',"options":{"parameter_binds":[{"theta":Infinity}]}', RX),
        400,
        ("theta",),
    ),
    "bind -Infinity": Case(
        "/v1/jobs",
        _job(',"options":{"parameter_binds":[{"theta":-Infinity}]}', RX),
        400,
        ("theta",),
    ),
    "bind 1e400": Case(
        "/v1/jobs", _job(',"options":{"parameter_binds":[{"theta":1e400}]}', RX), 400, ("theta",)
    ),
    "bind 10**400": Case(
        "/v1/jobs",
        _job(',"options":{"parameter_binds":[{"theta":' + "1" + "0" * 400 + "}]}", RX),
        400,
        ("theta",),
    ),
    "301 binds": Case(
        "/v1/jobs",
        _job(',"options":{"parameter_binds":' + json.dumps([{"theta": 0.5}] * 301) + "}", RX),
        400,
        ("max_experiments",),
    ),
    # regular expressions RE2 cannot run in linear time
    "name backreference": Case(
        "/v1/jobs/search", _search('"name":"(a)\\\\1"'), 400, ("name", "backreferences")
    ),
    "name lookahead": Case("/v1/jobs/search", _search('"name":"(?=a)"'), 400, ("name", "RE2")),
    "db_filter regexp lookbehind": Case(
        "/v1/jobs/search",
        _search('"db_filter":{"name":{"regexp":"(?<=a)b"}}'),
        400,
        ("name", "RE2"),
    ),
    "db_filter tags regexp backreference": Case(
        "/v1/jobs/search",
        _search('"db_filter":{"tags":{"regexp":"(x)\\\\1"}}'),
        400,
        ("tags", "RE2"),
    ),
    "long regexp": Case("/v1/jobs/search", _search('"name":"' + "a" * 5000 + '"'), 400, ("name",)),
    # runtime jobs: the device's limits and the transpiler's options
    "runtime 1000 circuits": Case(
        "/v1/runtime/jobs",
        _runtime(f'{{"circuits":"{_tiny_circuits(1000)}"}}'),
        400,
        ("1000 experiments", "max_experiments"),
    ),
    "runtime unknown transpiler option": Case(
        "/v1/runtime/jobs",
        _runtime(f'{{"circuits":"{BELL}","transpiler_options":{{"callback":"x"}}}}'),
        400,
        ("transpiler_options", "callback"),
    ),
    "runtime unknown layout method": Case(
        "/v1/runtime/jobs",
        _runtime(f'{{"circuits":"{BELL}","transpiler_options":{{"layout_method":"evil"}}}}'),
        400,
        ("layout_method", "evil"),
    ),
    "runtime transpiler seed 2**64": Case(
        "/v1/runtime/jobs",
        _runtime(f'{{"circuits":"{BELL}","transpiler_options":{{"seed_transpiler":{2**64}}}}}'),
        400,
        ("seed_transpiler",),
    ),
    # admin input
    "instance not hub/group/project": Case(
        "/v1/admin/users", '{"name":"inst","instances":["b\\u0080"]}', 400, ("hub/group/project",)
    ),
    "empty token": Case("/v1/admin/users", '{"name":"tok","token":""}', 400, ("token",)),
    "one-letter token": Case("/v1/admin/users", '{"name":"tok","token":"x"}', 400, ("token",)),
    "token with spaces": Case(
        "/v1/admin/users", '{"name":"tok","token":"a token with spaces"}', 400, ("token",)
    ),
    "instance with NUL": Case(
        "/v1/admin/users", '{"name":"inst","instances":["h/g/p\\u0000"]}', 400, ("NUL",)
    ),
    # payloads
    "truncated QPY": Case("/v1/jobs", _job("", _truncated_qpy()), 400, ("qpy", "QPY")),
    "unparsable body": Case("/v1/jobs/search", '{"limit": 1', 400, ("JSON",)),
    "admin maximum_jobs 2**63": Case("PUT", f'{{"maximum_jobs":{2**63}}}', 400, ("maximum_jobs",)),
}


def _stored(harness: Harness) -> tuple[int, int, int]:
    """Jobs, blobs and users in the service."""
    records, _ = harness.store.search_jobs(wire.JobQuery(limit=None))
    return len(records), len(harness.blobs), len(harness.store.list_users())


def _send(harness: Harness, case: Case, job_id: str) -> Any:
    headers = {**harness.headers(), "Content-Type": "application/json"}
    body = case.body.encode("utf-8")
    if case.path == "PATCH":
        return harness.client.patch(f"/v1/jobs/{job_id}", content=body, headers=headers)
    if case.path == "PUT":
        return harness.client.put(
            f"/v1/admin/backends/{SIM}/job_limit", content=body, headers=headers
        )
    return harness.client.post(case.path, content=body, headers=headers)


@pytest.fixture(scope="module")
def existing_job(harness: Harness) -> str:
    """A job of the admin's that renames and searches can reach."""
    job_id: str = harness.submit(name="a" * 40 + "!")["id"]
    harness.wait_final(job_id)
    return job_id


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_request_is_refused_cleanly(harness: Harness, existing_job: str, name: str) -> None:
    case = CASES[name]
    before = _stored(harness)
    answer = _send(harness, case, existing_job)
    assert answer.status_code == case.status, answer.text
    error = answer.json()["error"]
    message = error["message"]
    for needle in case.needles:
        assert needle in message, message
    assert "\x1b" not in message and "Backtrace" not in message
    assert "bigint" not in message and "sqlite" not in message.lower()
    assert _stored(harness) == before
    assert harness.client.get("/v1/account", headers=harness.headers()).status_code == 200


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("properties?datetime=0001-01-01T00:00:00%2B14:00", "datetime"),
        ("snapshots?start=0001-01-01T00:00:00%2B14:00", "start"),
        ("snapshots?end=9999-12-31T23:59:59-14:00", "end"),
    ],
)
def test_backend_dates_that_overflow_utc_are_refused(
    harness: Harness, query: str, needle: str
) -> None:
    answer = harness.client.get(f"/v1/backends/fake_manila/{query}", headers=harness.headers())
    assert answer.status_code == 400, answer.text
    assert needle in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    "query",
    [
        "properties?datetime=0001-01-01T00:00:00Z",
        "snapshots?end=0001-01-02T00:00:00Z",
        "snapshots?start=0001-01-01T00:00:00Z&end=0001-01-02T00:00:00Z",
    ],
)
def test_backend_dates_at_year_one_answer_empty(harness: Harness, query: str) -> None:
    """Nothing is dated before year 1 (the fuzzer's 500: ``datetime.min`` less 1 µs)."""
    answer = harness.client.get(f"/v1/backends/fake_manila/{query}", headers=harness.headers())
    assert answer.status_code == 200, answer.text
    assert answer.json() in (None, [])


def test_a_rename_refused_for_its_name_leaves_the_job_unchanged(
    harness: Harness, existing_job: str
) -> None:
    answer = _send(harness, CASES["NUL in rename"], existing_job)
    assert answer.status_code == 400
    job = harness.client.get(f"/v1/jobs/{existing_job}", headers=harness.headers()).json()
    assert job["name"] == "a" * 40 + "!"


def test_catastrophic_regexp_answers_by_linear_search(harness: Harness, existing_job: str) -> None:
    """``(a+)+$`` against ``'a' * 40 + '!'``: a backtracking engine would try about 2**40
    paths (days); RE2 answers at once, and finds no match."""
    for where in ({"name": "(a+)+$"}, {"db_filter": {"name": {"regexp": "(a+)+$"}}}):
        answer = harness.client.post("/v1/jobs/search", json=where, headers=harness.headers())
        assert answer.status_code == 200, answer.text
        assert existing_job not in [job["id"] for job in answer.json()["jobs"]]
    found = harness.client.post(
        "/v1/jobs/search", json={"name": "^(a+)+!$"}, headers=harness.headers()
    )
    assert existing_job in [job["id"] for job in found.json()["jobs"]]


def test_case_insensitive_regexp_still_works(harness: Harness, existing_job: str) -> None:
    answer = harness.client.post(
        "/v1/jobs/search",
        json={"db_filter": {"name": {"regexp": "/^A+!$/i"}}},
        headers=harness.headers(),
    )
    assert answer.status_code == 200, answer.text
    assert existing_job in [job["id"] for job in answer.json()["jobs"]]


def test_bounds_at_the_limit_are_accepted(harness: Harness) -> None:
    """The largest values the bounds allow still work (the limits are not off by one)."""
    token = harness.new_user()
    info = harness.submit(
        token,
        name="n" * 256,
        tags=[f"t{i}" for i in range(100)],
        options={"seed_simulator": 2**63 - 1},
    )
    assert harness.wait_final(info["id"], token) == "DONE"
    search = {"skip": 2**63 - 1, "limit": 2**63 - 1, "db_filter": {"shots": {"lt": 2**31 - 1}}}
    answer = harness.client.post("/v1/jobs/search", json=search, headers=harness.headers(token))
    assert answer.status_code == 200, answer.text
    assert answer.json()["jobs"] == []
