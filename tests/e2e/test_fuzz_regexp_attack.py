"""A user sending catastrophic regular expressions does not hold up anyone else.

``(a+)+$`` against a job named ``'a' * 255 + '!'`` takes a backtracking engine about 2**255
steps (it would never answer); the service runs users' patterns with RE2 on SQLite and
behind the statement budget on PostgreSQL, so every attack search answers, and another
user's requests meanwhile are answered too (their p95 latency is printed, not asserted: it
depends on the machine).
"""

from __future__ import annotations

import httpx
from qiskit import transpile

from openqx.core import circuit_payload
from openqx.embedded import EmbeddedServer
from tests.e2e.bystander import describe, served_during
from tests.e2e.circuits import ghz

ATTACK_SEARCHES = 30
NAME = "a" * 255 + "!"
PATTERNS = ({"name": "(a+)+$"}, {"db_filter": {"name": {"regexp": "(a+)+$"}}})


def test_catastrophic_regexps_answer_and_others_are_served(server: EmbeddedServer) -> None:
    admin = {"Authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=f"{server.url}/v1", headers=admin, timeout=60) as attacker:
        created = attacker.post("/admin/users", json={"name": "regexp-victim"})
        assert created.status_code == 201, created.text
        victim_token = created.json()["token"]
        qpy = circuit_payload.encode_circuits([transpile(ghz(2), basis_gates=["cx", "u"])])
        job = attacker.post(
            "/jobs", json={"backend": "ibmq_qasm_simulator", "qpy": qpy, "name": NAME}
        )
        assert job.status_code == 201, job.text

        answers: list[int] = []

        def attack() -> None:
            for index in range(ATTACK_SEARCHES):
                search = attacker.post("/jobs/search", json=PATTERNS[index % 2])
                answers.append(search.status_code)
                assert job.json()["id"] not in [j["id"] for j in search.json()["jobs"]]

        latencies = served_during(server.url, victim_token, attack)
    assert answers == [200] * ATTACK_SEARCHES
    print(
        f"regexp attack: {ATTACK_SEARCHES} searches answered; the other user's "
        f"{describe(latencies)}"
    )
