"""Another user's requests while an attack runs: how the tests show one user cannot hold up
the others. The latencies are reported, not asserted (they depend on the machine)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx


def served_during(url: str, token: str, attack: Callable[[], None]) -> list[float]:
    """Run ``attack`` in a thread while another user polls ``GET /v1/account`` until it ends.

    Every poll must answer 200. Returns the polls' latencies in seconds.
    """
    done = threading.Event()

    def run() -> None:
        try:
            attack()
        finally:
            done.set()

    thread = threading.Thread(target=run)
    latencies: list[float] = []
    with httpx.Client(
        base_url=f"{url}/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as bystander:
        thread.start()
        while not done.is_set():
            started = time.perf_counter()
            answer = bystander.get("/account")
            latencies.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text
        thread.join()
    assert latencies, "the other user made no request during the attack"
    return latencies


def describe(latencies: list[float]) -> str:
    """``N requests meanwhile: p50 … ms, p95 … ms``."""
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2]
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{len(ordered)} requests meanwhile: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"
