"""``job_monitor``: a live one-line status display for a job."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from qiskit.providers import JobStatus

__all__ = ["job_monitor"]

_DEFAULT_INTERVAL = 5.0


def _status_line(job: Any, status: JobStatus) -> str:
    text = str(status.value)
    if status is JobStatus.QUEUED:
        position = job.queue_position()
        if position is not None:
            text += f" ({position})"
    elif status is JobStatus.RUNNING:
        mode = job.scheduling_mode()
        if mode:
            text += f" - {mode}"
    elif status is JobStatus.ERROR:
        message = job.error_message()
        if message:
            text += f" - {message}"
    return text


def job_monitor(job: Any, interval: float | None = None, output: TextIO | None = None) -> None:
    """Print a live status line for a job until it is final.

    The line is rewritten in place (``Job Status: job is queued (3)``...) and ends with the
    final status and a newline.

    Args:
        job: the job to watch.
        interval: seconds between status requests; by default 2 s, or the queue position in
            seconds while the job is queued (capped at 5 s).
        output: where to print (default: ``sys.stdout`` at call time, so that
            ``contextlib.redirect_stdout`` captures it).
    """
    if output is None:
        output = sys.stdout
    previous_length = 0
    while True:
        status = job.status()
        line = f"Job Status: {_status_line(job, status)}"
        padding = " " * max(previous_length - len(line), 0)
        output.write(f"\r{line}{padding}")
        output.flush()
        previous_length = len(line)
        if status in (JobStatus.DONE, JobStatus.CANCELLED, JobStatus.ERROR):
            output.write("\n")
            output.flush()
            return
        if interval is not None:
            pause = interval
        elif status is JobStatus.QUEUED and job.queue_position():
            pause = min(max(float(job.queue_position()), 2.0), _DEFAULT_INTERVAL)
        else:
            pause = 2.0
        time.sleep(pause)
