"""``least_busy``: the operational backend with the shortest queue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openqx.client import exceptions as exc

__all__ = ["least_busy"]


def least_busy(backends: Sequence[Any]) -> Any:
    """Return the operational, active backend with the fewest pending jobs.

    Args:
        backends: backends to choose from (anything with a ``status()`` method).

    Returns:
        The least busy backend.

    Raises:
        OpenQXError: the list is empty, no backend qualifies, or a status lacks
            ``pending_jobs``.
    """
    if not backends:
        raise exc.OpenQXError("Unable to find the least_busy backend from an empty list.")
    candidates = []
    for backend in backends:
        status = backend.status()
        if not status.operational or status.status_msg != "active":
            continue
        if getattr(status, "pending_jobs", None) is None:
            raise exc.OpenQXError(f"Backend {backend.name} has no pending_jobs in its status.")
        candidates.append((status.pending_jobs, backend))
    if not candidates:
        raise exc.OpenQXError("No backend matches the criteria.")
    return min(candidates, key=lambda pair: pair[0])[1]
