"""Hostile QPY (issue 9, point 1): every payload is refused with a 400 naming the limit, before
Qiskit allocates for what its headers claim.

The corpus forges headers of a real payload (Qiskit's own ``qpy.dump``): 100,000,000 and
2^32-1 qubits in under 200 bytes (these aborted or grew the server to 24 GB before the
pre-check), counts far above what the payload could hold, 10^6 instructions, 2^64-1 circuits,
truncations at every byte, deep control-flow nesting, garbage and unknown versions.
"""

from __future__ import annotations

import resource
import struct
from dataclasses import dataclass

import pytest
from qiskit import QuantumCircuit

from openqx.core import wire
from openqx.core.circuit_payload import dump_circuits, load_circuits
from openqx.core.qpy_header import (
    MAX_QPY_BYTES,
    MAX_QPY_INSTRUCTIONS,
    MAX_QPY_QUBITS,
    QpyLimits,
    check_qpy,
)
from openqx.server.qpy_decoder import (
    DEFAULT_IN_PROCESS_BYTES,
    MAX_QASM_CHARACTERS,
    GuardedDecoder,
)
from tests.unit.server.harness import Harness, bell

_V12 = struct.Struct("!H1cHIIQIQI")  # QPY >= 12 circuit header
_FIELDS = ("num_qubits", "num_clbits", "metadata_size", "num_registers", "num_instructions")


def _tiny() -> bytes:
    """A real one-circuit payload (one qubit, no instructions): about 135 bytes."""
    return dump_circuits([QuantumCircuit(1)])


def _first_circuit_offset(data: bytes) -> int:
    return int(struct.unpack_from("!Q", data, 20)[0])  # table after 19-byte header + type key


def _forged(base: bytes | None = None, **counts: int) -> bytes:
    """``base`` (default ``_tiny()``) with its first circuit header's counts replaced."""
    data = bytearray(base if base is not None else _tiny())
    offset = _first_circuit_offset(bytes(data))
    fields = list(_V12.unpack_from(data, offset))
    for name, value in counts.items():
        fields[3 + _FIELDS.index(name)] = value
    _V12.pack_into(data, offset, *fields)
    return bytes(data)


def _programs(count: int) -> bytes:
    data = bytearray(_tiny())
    struct.pack_into("!Q", data, 10, count)  # num_programs of the file header
    return bytes(data)


def _nested_if(depth: int) -> bytes:
    body = QuantumCircuit(1, 1)
    body.x(0)
    for _ in range(depth):
        outer = QuantumCircuit(1, 1)
        outer.if_test((outer.clbits[0], 1), body, [0], [0])
        body = outer
    return dump_circuits([body])


@dataclass(frozen=True)
class Hostile:
    data: bytes
    needles: tuple[str, ...]


CORPUS: dict[str, Hostile] = {
    "100,000,000 qubits": Hostile(_forged(num_qubits=100_000_000), ("100000000 qubits", "limit")),
    "2^32-1 qubits": Hostile(_forged(num_qubits=2**32 - 1), ("4294967295 qubits", "limit")),
    "5,000,000 qubits": Hostile(_forged(num_qubits=5_000_000), ("5000000 qubits", "limit")),
    "2^32-1 clbits": Hostile(_forged(num_clbits=2**32 - 1), ("classical bits", "limit")),
    "10^6 instructions": Hostile(
        _forged(num_instructions=10**6), ("1000000 instructions", "limit")
    ),
    "2^32-1 registers": Hostile(_forged(num_registers=2**32 - 1), ("registers", "limit")),
    "lying instruction count": Hostile(
        _forged(num_instructions=1000), ("1000 instructions", "bytes left")
    ),
    "lying register count": Hostile(_forged(num_registers=500), ("500 registers", "bytes left")),
    "lying metadata size": Hostile(_forged(metadata_size=2**63), ("metadata", "bytes left")),
    "2^64-1 circuits": Hostile(_programs(2**64 - 1), ("circuits", "limit")),
    "lying circuit count": Hostile(_programs(5000), ("5000 circuits", "bytes can hold")),
    "unknown QPY version": Hostile(_tiny()[:6] + b"\x63" + _tiny()[7:], ("QPY version 99",)),
    "not QPY": Hostile(b"\x00" * 200, ("not a valid QPY payload",)),
    "truncated file header": Hostile(_tiny()[:12], ("not a valid QPY payload",)),
    "truncated circuit header": Hostile(_tiny()[:40], ("not a valid QPY payload",)),
    "deeply nested control flow": Hostile(_nested_if(50), ("not a valid QPY payload", "recursion")),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_hostile_qpy_is_refused_naming_the_problem(name: str) -> None:
    case = CORPUS[name]
    with pytest.raises(ValueError) as raised:
        load_circuits(case.data, source="'qpy'")
    for needle in case.needles:
        assert needle in str(raised.value), str(raised.value)


def test_the_crashing_payloads_are_tiny() -> None:
    """The payloads that killed the server fit in 172 bytes: size limits alone do not help."""
    assert len(CORPUS["100,000,000 qubits"].data) <= 172
    assert len(CORPUS["2^32-1 qubits"].data) <= 172


def test_refusals_allocate_nothing_for_the_claimed_counts() -> None:
    """Refusing the whole corpus 20 times raises the process's peak RSS by under 64 MB (the
    5,000,000-qubit payload alone cost 1.4 GB in Qiskit's decoder)."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    for _ in range(20):
        for name in ("100,000,000 qubits", "2^32-1 qubits", "5,000,000 qubits", "2^32-1 clbits"):
            with pytest.raises(ValueError):
                load_circuits(CORPUS[name].data)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert after - before < 64 * 1024


def test_every_truncation_is_a_value_error() -> None:
    data = dump_circuits([bell(), bell("second")])
    for cut in range(len(data)):
        with pytest.raises(ValueError, match="not a valid QPY payload|holds no circuits"):
            load_circuits(data[:cut])


def test_limits_are_exact_at_the_boundary() -> None:
    at_limit = _forged(num_qubits=MAX_QPY_QUBITS)
    assert check_qpy(at_limit)[0].num_qubits == MAX_QPY_QUBITS
    with pytest.raises(ValueError, match=f"{MAX_QPY_QUBITS + 1} qubits"):
        check_qpy(_forged(num_qubits=MAX_QPY_QUBITS + 1))
    with pytest.raises(ValueError, match=f"over the limit of {MAX_QPY_INSTRUCTIONS}"):
        check_qpy(_forged(num_instructions=MAX_QPY_INSTRUCTIONS + 1))
    with pytest.raises(ValueError, match=f"over the limit of {MAX_QPY_BYTES} bytes"):
        check_qpy(b"QISKIT" + bytes(MAX_QPY_BYTES))


def test_a_device_limit_on_circuits_names_the_backend() -> None:
    data = dump_circuits([bell(), bell("b"), bell("c")])
    assert len(check_qpy(data, QpyLimits(max_circuits=3, backend="x"))) == 3
    with pytest.raises(ValueError, match=r"3 circuits but backend 'x' accepts at most 2"):
        check_qpy(data, QpyLimits(max_circuits=2, backend="x"))


def test_real_payloads_of_every_readable_version_pass() -> None:
    import io

    from qiskit import qpy
    from qiskit.circuit import Parameter

    ghz = QuantumCircuit(3, 3)
    ghz.h(0)
    ghz.cx(0, 1)
    ghz.cx(1, 2)
    ghz.measure(range(3), range(3))
    rotated = QuantumCircuit(1)
    rotated.rx(Parameter("t"), 0)
    for version in range(qpy.QPY_COMPATIBILITY_VERSION, qpy.QPY_VERSION + 1):
        buffer = io.BytesIO()
        qpy.dump([ghz, rotated], buffer, version=version)
        headers = check_qpy(buffer.getvalue())
        assert headers[0].num_qubits == 3 and headers[0].num_instructions == 6
        assert len(load_circuits(buffer.getvalue())) == 2


# Through the API: a 400 naming the limit, nothing stored, the server still answering.

SIM = "ibmq_qasm_simulator"


@pytest.mark.parametrize("name", ["100,000,000 qubits", "2^32-1 qubits", "lying instruction count"])
def test_hostile_qpy_job_is_a_400_naming_the_limit(harness: Harness, name: str) -> None:
    case = CORPUS[name]
    before = harness.store.search_jobs(wire.JobQuery(limit=None))[0]
    answer = harness.client.post(
        "/v1/jobs",
        json={"backend": SIM, "qpy": wire.b64encode(case.data)},
        headers=harness.headers(),
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_input"
    for needle in case.needles:
        assert needle in answer.json()["error"]["message"]
    assert len(harness.store.search_jobs(wire.JobQuery(limit=None))[0]) == len(before)
    assert harness.client.get("/v1/account", headers=harness.headers()).status_code == 200


def test_more_circuits_than_max_experiments_are_refused_from_the_header(harness: Harness) -> None:
    device = harness.service.catalog.get(SIM)
    answer = harness.client.post(
        "/v1/jobs",
        json={"backend": SIM, "qpy": wire.b64encode(_programs(device.max_experiments + 1))},
        headers=harness.headers(),
    )
    assert answer.status_code == 400, answer.text
    assert "max_experiments" in answer.json()["error"]["message"]


def test_hostile_qpy_in_a_runtime_job_or_a_pub_is_a_400(harness: Harness) -> None:
    hostile = wire.b64encode(CORPUS["100,000,000 qubits"].data)
    runner = harness.client.post(
        "/v1/runtime/jobs",
        json={"program_id": "circuit-runner", "backend": SIM, "params": {"circuits": hostile}},
        headers=harness.headers(),
    )
    assert runner.status_code == 400, runner.text
    assert "100000000 qubits" in runner.json()["error"]["message"]
    sampler = harness.client.post(
        "/v1/runtime/jobs",
        json={
            "program_id": "sampler",
            "backend": SIM,
            "params": {"pubs": [{"circuit": hostile}]},
        },
        headers=harness.headers(),
    )
    assert sampler.status_code == 400, sampler.text
    assert "100000000 qubits" in sampler.json()["error"]["message"]


# The guarded decoder: large payloads in separate processes with memory and time limits.


def _large() -> tuple[QuantumCircuit, bytes]:
    """A real circuit whose payload is over the in-process threshold (about 245 KB)."""
    circuit = QuantumCircuit(20)
    for i in range(5000):
        circuit.cx(i % 20, (i + 1) % 20)
    data = dump_circuits([circuit])
    assert len(data) > DEFAULT_IN_PROCESS_BYTES
    return circuit, data


def test_a_large_payload_is_decoded_in_a_decoder_process() -> None:
    circuit, data = _large()
    decoder = GuardedDecoder(workers=1)
    try:
        assert decoder.load(data) == [circuit]
    finally:
        decoder.close()


def test_a_decoder_over_its_memory_or_time_is_killed_and_the_next_payload_decodes() -> None:
    circuit, data = _large()
    starved = GuardedDecoder(workers=1, memory_bytes=256 * 1024**2)
    slow = GuardedDecoder(workers=1, time_limit=0.001)  # a process start alone takes longer
    try:
        with pytest.raises(ValueError, match="memory limit of 256 MiB"):
            starved.load(data, source="'qpy'")
        with pytest.raises(ValueError, match=r"limit of 0.001 s"):
            slow.load(data, source="'qpy'")
        starved.memory_bytes = slow.memory_bytes
        assert starved.load(data) == [circuit]  # a fresh pool after the dead one
    finally:
        starved.close()
        slow.close()


def test_hostile_headers_never_reach_a_decoder_process() -> None:
    decoder = GuardedDecoder(workers=1, in_process_bytes=0)
    try:
        with pytest.raises(ValueError, match="100000000 qubits"):
            decoder.load(CORPUS["100,000,000 qubits"].data)
        assert decoder._pool is None  # refused by the header check, no process started
    finally:
        decoder.close()


def test_a_large_job_is_accepted_through_the_decoder_pool(harness: Harness) -> None:
    circuit = QuantumCircuit(5)
    for i in range(2500):  # about 120 KB of QPY: over the in-process size, under the body limit
        circuit.cx(i % 5, (i + 1) % 5)
    circuit.measure_all()
    data = dump_circuits([circuit])
    assert len(data) > DEFAULT_IN_PROCESS_BYTES
    answer = harness.client.post(
        "/v1/jobs",
        json={"backend": SIM, "qpy": wire.b64encode(data), "shots": 10},
        headers=harness.headers(),
    )
    assert answer.status_code == 201, answer.text
    assert harness.service.decoder._pool is not None  # decoded outside the API process


# OpenQASM source: bounded, and large sources parsed in the guarded pool.


def _qasm2(gates: int) -> str:
    return 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\n' + "cx q[0],q[1];\n" * gates


def test_openqasm_over_the_length_limit_is_a_400_naming_it() -> None:
    decoder = GuardedDecoder(workers=1)
    try:
        with pytest.raises(ValueError, match=f"over the limit of {MAX_QASM_CHARACTERS}"):
            decoder.parse_qasm(["x" * (MAX_QASM_CHARACTERS + 1)], 2)
        assert decoder._pool is None
    finally:
        decoder.close()


def test_large_openqasm_is_parsed_in_a_decoder_process_and_errors_name_the_position() -> None:
    decoder = GuardedDecoder(workers=1)
    source = _qasm2(6000)  # about 84 KB: over the in-process size
    assert len(source) > DEFAULT_IN_PROCESS_BYTES
    try:
        (circuit,) = decoder.parse_qasm([source], 2)
        assert len(circuit.data) == 6000
        assert decoder._pool is not None
        with pytest.raises(ValueError, match="OpenQASM 2 circuit 0, line 6004"):
            decoder.parse_qasm([source + "nonsense q[0];\n"], 2)
    finally:
        decoder.close()
