"""Hostile OpenQASM: a program may include only the standard library, may not declare more
bits than a QPY payload may carry, and may not hold names QPY cannot store. Each is a 400
naming the problem, before Qiskit reads a file or allocates for the declaration, and leaves
nothing behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openqx.core import errors
from openqx.core.qpy_header import MAX_QPY_CLBITS, MAX_QPY_QUBITS
from openqx.server.qasm import MAX_IDENTIFIER_CHARACTERS, circuits_from_qasm
from tests.unit.server.harness import BASE_URL, Harness

SIM = "ibmq_qasm_simulator"


@pytest.fixture()
def http(harness: Harness) -> Iterator[httpx.Client]:
    token = harness.new_user()
    with httpx.Client(
        base_url=BASE_URL,
        transport=harness.client._transport,
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


def _refused(version: int, source: str) -> str:
    with pytest.raises(errors.InvalidInputError) as info:
        circuits_from_qasm([source], version)
    return info.value.message


@pytest.fixture()
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.inc"
    path.write_text("topsecretword q;\n")
    return path


@pytest.mark.parametrize("version", [2, 3])
def test_an_include_other_than_the_standard_library_is_refused_unread(
    version: int, secret_file: Path
) -> None:
    header = f"OPENQASM {version}.0;\n"
    for target in (str(secret_file), "../" * 8 + str(secret_file).lstrip("/")):
        message = _refused(version, header + f'include "{target}";\nqubit q;\n')
        assert "only the standard library may be included" in message
        assert "topsecretword" not in message  # Qiskit's parser would have read the file
    message = _refused(version, header + f"include\n  '{secret_file}';\n")
    assert "only the standard library" in message


def test_the_standard_library_and_includes_in_comments_are_fine(secret_file: Path) -> None:
    (circuit,) = circuits_from_qasm(
        [f'OPENQASM 2.0;\n// include "{secret_file}";\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];'],
        2,
    )
    assert circuit.num_qubits == 2
    (circuit,) = circuits_from_qasm(
        [
            f'OPENQASM 3.0;\n/* include "{secret_file}"; */\ninclude "stdgates.inc";\n'
            "qubit[2] q;\nh q[0];"
        ],
        3,
    )
    assert circuit.num_qubits == 2


@pytest.mark.parametrize(
    ("version", "source", "needle"),
    [
        # Declared sizes the parsers would allocate an object per bit for (10^9 took the
        # server to 21 GB) or panic on (10^20 is past 64 bits): refused on the number.
        (
            2,
            "qreg q[1000000000];",
            f"declares 1000000000 qubits, over the limit of {MAX_QPY_QUBITS}",
        ),
        (2, "qreg q[99999999999999999999];", "declares 99999999999999999999 qubits"),
        (2, "qreg a[6000];\nqreg b[6000];", "declares 12000 qubits"),
        (2, f"creg c[{MAX_QPY_CLBITS + 1}];", f"over the limit of {MAX_QPY_CLBITS}"),
        (2, "qreg q;", "a register declaration needs a name and a decimal size"),
        # OpenQASM 3 sizes may be arithmetic: evaluated (capped) on the syntax tree.
        (3, "qubit[1000000000] q;", f"more than 100000 qubits, over the limit of {MAX_QPY_QUBITS}"),
        (3, "qubit[100 * 101] q;", f"declares 10100 qubits, over the limit of {MAX_QPY_QUBITS}"),
        (3, "qubit[10 ** 1000000000] q;", "qubits, over the limit"),
        (3, "qubit q;\nif (true) { bit[200000] e; }", "classical bits, over the limit"),
        (3, "input bit[200000] x;", "classical bits, over the limit"),
        (3, "qubit[2.5] q;", "a register size must be an integer"),
    ],
)
def test_declarations_over_the_limits_are_refused_before_parsing(
    version: int, source: str, needle: str
) -> None:
    assert needle in _refused(version, f"OPENQASM {version}.0;\n{source}\n")


def test_declarations_within_the_limits_parse() -> None:
    (circuit,) = circuits_from_qasm(["OPENQASM 3.0;\nqubit[2 * 5] q;\nbit[3] c;"], 3)
    assert (circuit.num_qubits, circuit.num_clbits) == (10, 3)
    (circuit,) = circuits_from_qasm(["OPENQASM 2.0;\nqreg a[3];\nqreg b[4];\ncreg c[2];"], 2)
    assert (circuit.num_qubits, circuit.num_clbits) == (7, 2)


@pytest.mark.parametrize("version", [2, 3])
def test_a_name_too_long_for_qpy_is_refused(version: int) -> None:
    name = "q" * (MAX_IDENTIFIER_CHARACTERS + 1)
    declaration = f"qreg {name}[1];" if version == 2 else f"qubit[1] {name};"
    message = _refused(version, f"OPENQASM {version}.0;\n{declaration}\n")
    assert f"longer than {MAX_IDENTIFIER_CHARACTERS} characters" in message


@pytest.mark.parametrize(
    ("field", "source", "needle"),
    [
        ("qasm2", 'OPENQASM 2.0;\ninclude "/etc/hostname";\nqreg q[1];', "only the standard"),
        ("qasm2", "OPENQASM 2.0;\nqreg q[1000000000];", "over the limit"),
        ("qasm2", "OPENQASM 2.0;\nqreg q[99999999999999999999];", "over the limit"),
        ("qasm2", "OPENQASM 2.0;\nqreg " + "q" * 65536 + "[1];", "longer than"),
        ("qasm3", "OPENQASM 3.0;\nqubit[2 ** 40] q;", "over the limit"),
    ],
)
def test_hostile_programs_are_a_400_and_leave_nothing(
    harness: Harness, http: httpx.Client, field: str, source: str, needle: str
) -> None:
    before = len(harness.blobs._data)
    answer = http.post("/v1/jobs", json={"backend": SIM, field: [source]})
    assert answer.status_code == 400, answer.text
    assert needle in answer.json()["error"]["message"]
    assert len(harness.blobs._data) == before
    assert http.get("/v1/jobs", params={"limit": 0}).json()["jobs"] == []
