"""Hostile QPY against a real `openqx serve` (issue 9, point 1).

Before the header pre-check, a 172-byte payload claiming 100,000,000 qubits aborted the server
(SIGABRT) and one claiming 2^32-1 grew it to 24 GB. Here an attacker sends the whole hostile
corpus of ``tests/unit/server/test_hostile_qpy.py`` (three rounds) plus a large valid payload
that the guarded decoder pool decodes, while another user keeps asking for their account.
Each hostile payload answers 400 naming the limit within ``ANSWER_BOUND_S``; the server is
alive afterwards; the API process's peak RSS (``VmHWM`` in ``/proc``) grows by under
``RSS_BOUND_MB``; the other user's requests all answer 200 (their p95 latency is printed, not
asserted: it depends on the machine).
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from qiskit import QuantumCircuit

from openqx.core import wire
from openqx.core.circuit_payload import dump_circuits
from tests.e2e.bystander import describe, served_during
from tests.e2e.serve_process import ServeProcess, free_port
from tests.unit.server.test_hostile_qpy import CORPUS

TOKEN = "hostile-qpy-admin-token"
ROUNDS = 3
ANSWER_BOUND_S = 10.0
RSS_BOUND_MB = 300
# Through a device, a circuit count over its max_experiments (300) is refused naming that.
DEVICE_NEEDLES = {
    "2^64-1 circuits": ("18446744073709551615 circuits", "max_experiments"),
    "lying circuit count": ("5000 circuits", "max_experiments"),
}


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


def _large_payload() -> str:
    circuit = QuantumCircuit(5)
    for i in range(2500):
        circuit.cx(i % 5, (i + 1) % 5)
    circuit.measure_all()
    return wire.b64encode(dump_circuits([circuit]))


def test_hostile_qpy_is_refused_and_the_server_keeps_serving(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path, free_port(), TOKEN)
    try:
        server.wait_answering()
        pid = server.process.pid
        admin = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=f"{server.url}/v1", headers=admin, timeout=60) as attacker:
            created = attacker.post("/admin/users", json={"name": "qpy-bystander"})
            assert created.status_code == 201, created.text
            victim_token = created.json()["token"]
            warm = attacker.post(
                "/jobs", json={"backend": "ibmq_qasm_simulator", "qpy": _large_payload()}
            )
            assert warm.status_code == 201, warm.text  # the pool is started and warm
            rss_before = _memory_kib(pid, "VmRSS")

            failures: list[str] = []
            slowest = 0.0

            def attack() -> None:
                nonlocal slowest
                for _ in range(ROUNDS):
                    for name, case in CORPUS.items():
                        body = {"backend": "ibmq_qasm_simulator"}
                        body["qpy"] = wire.b64encode(case.data)
                        started = time.perf_counter()
                        answer = attacker.post("/jobs", json=body)
                        slowest = max(slowest, time.perf_counter() - started)
                        message = answer.json().get("error", {}).get("message", "")
                        needles = DEVICE_NEEDLES.get(name, case.needles)
                        if answer.status_code != 400 or not all(
                            needle in message for needle in needles
                        ):
                            failures.append(f"{name}: {answer.status_code} {answer.text}")
                    large = attacker.post(
                        "/jobs",
                        json={"backend": "ibmq_qasm_simulator", "qpy": _large_payload()},
                    )
                    if large.status_code != 201:
                        failures.append(f"large valid payload: {large.text}")

            latencies = served_during(server.url, victim_token, attack)
            peak = _memory_kib(pid, "VmHWM")
            assert server.process.poll() is None, server.output
            assert attacker.get("/account").status_code == 200
        assert failures == []
        assert slowest < ANSWER_BOUND_S
        assert (peak - rss_before) / 1024 < RSS_BOUND_MB
        print(
            f"hostile QPY: {ROUNDS * len(CORPUS)} payloads refused (slowest answer "
            f"{slowest * 1000:.0f} ms), API RSS {rss_before // 1024} MB before, peak "
            f"{peak // 1024} MB; the other user's {describe(latencies)}"
        )
    finally:
        server.stop()
