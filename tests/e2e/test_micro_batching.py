"""Micro-batching through a real server and the local executor (one worker process): jobs of
two users queued on fake_manila while the worker is busy start together as one batch, and
each job's result is what the job gives run alone with the seed its result reports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from qiskit import transpile

from openqx.client import OpenQX
from openqx.client.http import ApiClient
from openqx.client.provider import AccountProvider
from openqx.core import wire
from openqx.embedded import EmbeddedServer
from tests.e2e.circuits import forever, ghz
from tests.e2e.compat_helpers import wait_running
from tests.e2e.units import make_project

TIMEOUT = 300


@pytest.fixture(scope="module")
def batch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    data_dir = tmp_path_factory.mktemp("openqx-batching")
    with EmbeddedServer(data_dir=data_dir, executor="local", workers=1) as server:
        yield server


def user(server: EmbeddedServer, name: str) -> AccountProvider:
    admin = ApiClient(server.url, server.token)
    project = make_project(admin, f"hub/group/{name}")
    created = admin.create_user(wire.UserCreate(name=name, instances=[project]))
    return OpenQX.enable_account(created.token, url=server.url)


def test_queued_jobs_of_two_users_run_as_one_batch_each_with_its_own_result(
    batch_server: EmbeddedServer,
) -> None:
    alice, bob = user(batch_server, "alice"), user(batch_server, "bob")
    admin = OpenQX.enable_account(batch_server.token, url=batch_server.url)
    busy = admin.get_backend("simulator_statevector").run(forever(), shots=10)
    wait_running(busy)  # the only worker slot is taken: the next jobs wait together
    manila = alice.get_backend("fake_manila")
    circuits = [transpile(ghz(n), manila, seed_transpiler=1) for n in (2, 3, 4, 5)]
    jobs = []
    for i in range(4):
        for provider in (alice, bob):
            backend = provider.get_backend("fake_manila")
            jobs.append((backend, circuits[i], backend.run(circuits[i], shots=200)))
    busy.cancel()

    started = set()
    for backend, circuit, job in jobs:
        result = job.result(timeout=TIMEOUT)
        assert result.success
        steps = job.time_per_step() or {}
        started.add(steps.get("RUNNING"))
        data = result.to_dict()["results"][0]
        assert data["shots"] == 200
        again = backend.run(circuit, shots=200, seed_simulator=data["seed_simulator"])
        assert again.result(timeout=TIMEOUT).get_counts() == result.get_counts()
        assert (job.usage() or 0) > 0
    assert len(started) == 1  # claimed together: one batch
