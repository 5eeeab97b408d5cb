"""`OpenQX.local()`: an embedded service for a script in one line."""

from __future__ import annotations

from pathlib import Path

from qiskit import transpile

from tests.e2e.circuits import ghz


def test_local_gives_a_working_provider_and_cleans_up() -> None:
    from openqx import OpenQX

    provider = OpenQX.local(executor="inline")
    server = provider.embedded_server
    data_dir = Path(server.settings.data_dir)
    try:
        backend = provider.get_backend("fake_manila")
        job = backend.run(transpile(ghz(2), backend, seed_transpiler=3), shots=100)
        assert sum(job.result(timeout=120).get_counts(0).values()) == 100
        assert (data_dir / "openqx.sqlite3").exists()
        assert provider.backend.retrieve_job(job.job_id()).job_id() == job.job_id()
    finally:
        server.stop()
    assert not data_dir.exists()  # the temporary folder is removed
