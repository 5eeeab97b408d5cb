"""A user sending catastrophic regular expressions does not hold up anyone else.

``(a+)+$`` against a job named ``'a' * 255 + '!'`` takes a backtracking engine about 2**255
steps (it would never answer); the service runs users' patterns with RE2 on SQLite and
behind the statement budget on PostgreSQL, so every attack search answers, and another
user's requests meanwhile are answered too (their p95 latency is printed, not asserted: it
depends on the machine).
"""

from __future__ import annotations

import threading
import time

import httpx
from qiskit import transpile

from openqx.core import circuit_payload
from openqx.embedded import EmbeddedServer
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
        done = threading.Event()

        def attack() -> None:
            try:
                for index in range(ATTACK_SEARCHES):
                    search = attacker.post("/jobs/search", json=PATTERNS[index % 2])
                    answers.append(search.status_code)
                    assert job.json()["id"] not in [j["id"] for j in search.json()["jobs"]]
            finally:
                done.set()

        thread = threading.Thread(target=attack)
        victim_latencies: list[float] = []
        with httpx.Client(
            base_url=f"{server.url}/v1",
            headers={"Authorization": f"Bearer {victim_token}"},
            timeout=60,
        ) as victim:
            thread.start()
            while not done.is_set():
                started = time.perf_counter()
                answer = victim.get("/account")
                victim_latencies.append(time.perf_counter() - started)
                assert answer.status_code == 200, answer.text
            thread.join()
    assert answers == [200] * ATTACK_SEARCHES
    assert victim_latencies, "the victim made no request during the attack"
    ordered = sorted(victim_latencies)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    print(
        f"regexp attack: {ATTACK_SEARCHES} searches answered; the other user's "
        f"{len(ordered)} requests meanwhile: p50 {ordered[len(ordered) // 2] * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms"
    )
