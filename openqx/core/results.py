"""Rules about a job's result JSON (qiskit ``Result.to_dict()`` schema) that both sides apply.

The server decides from them whether a finished job is DONE or ERROR; the client words
``job.error_message()`` with the same text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["FAILED_EXPERIMENTS_HEADING", "failed_experiments_message"]

FAILED_EXPERIMENTS_HEADING = "The following experiments failed:"
"""First line of the seed provider's message for a job with failed experiments."""


def failed_experiments_message(result: Mapping[str, Any]) -> str | None:
    """Return the seed's message naming each failed experiment, or ``None`` if none failed.

    Args:
        result: a result in qiskit's ``Result.to_dict()`` schema; each entry of
            ``results`` has ``success`` and (when it failed) a ``status`` text.

    Returns:
        ``"The following experiments failed:"`` followed by one ``Experiment <index>:
        <status>`` line per failed experiment, or ``None`` when every experiment succeeded
        (or there are none).
    """
    lines = [
        f"Experiment {index}: {experiment.get('status', 'failed')}"
        for index, experiment in enumerate(result.get("results") or [])
        if not experiment.get("success", False)
    ]
    if not lines:
        return None
    return "\n".join([FAILED_EXPERIMENTS_HEADING, *lines])
