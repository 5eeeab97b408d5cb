from __future__ import annotations

import io

from openqx.client import job_monitor
from openqx.core.status import JobStatus


def test_job_monitor(provider, server):
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
