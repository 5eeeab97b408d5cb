from __future__ import annotations

import io

from openqx.client import job_monitor
from openqx.client.provider import AccountProvider
from openqx.core.status import JobStatus
from tests.unit.client.conftest import FakeServer


def test_job_monitor(provider: AccountProvider, server: FakeServer) -> None:
    job_id = server.add_job(JobStatus.QUEUED)
    server.script(job_id, (JobStatus.QUEUED, 3), JobStatus.RUNNING, JobStatus.DONE)
    job = provider.backend.retrieve_job(job_id)
    out = io.StringIO()
    job_monitor(job, interval=0, output=out)
    text = out.getvalue()
    assert "Job Status: job is queued (3)" in text
    assert "job is actively running" in text
    assert text.rstrip("\n").split("\r")[-1].startswith("Job Status: job has successfully run")
    assert text.endswith("\n")


def test_job_monitor_writes_to_the_current_stdout(
    provider: AccountProvider, server: FakeServer
) -> None:
    """``sys.stdout`` is looked up at call time, so ``redirect_stdout`` captures the line."""
    from contextlib import redirect_stdout

    job = provider.backend.retrieve_job(server.add_job(JobStatus.DONE))
    out = io.StringIO()
    with redirect_stdout(out):
        job_monitor(job, interval=0)
    assert out.getvalue() == "\rJob Status: job has successfully run\n"
