"""``openqx job ID``'s table: a queued job without a start estimate (held by a maintenance
window without an end) reads "unknown", not as if nothing were said."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from openqx.client import user_cli_output as out
from openqx.core import wire
from openqx.core.status import JobStatus

CREATED = datetime(2026, 12, 5, tzinfo=UTC)


def _rendered(queue: wire.QueueInfo) -> str:
    info = wire.JobInfo(
        id="j1",
        backend="fake_belem",
        status=JobStatus.QUEUED,
        owner="rita",
        instance="lab/g/p",
        created_at=CREATED,
    )
    console = Console(width=200, record=True)
    console.print(out.job_table(info, queue))
    return console.export_text()


def test_no_estimate_reads_unknown() -> None:
    text = _rendered(wire.QueueInfo(job_id="j1", position=1, status="QUEUED"))
    for label in ("estimated start", "estimated end"):
        (line,) = [line for line in text.splitlines() if label in line]
        assert "unknown" in line, text
