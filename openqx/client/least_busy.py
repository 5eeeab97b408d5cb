"""``least_busy``: the operational backend with the shortest queue."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from openqx.client import exceptions as exc

logger = logging.getLogger(__name__)

__all__ = ["least_busy"]


def least_busy(backends: Sequence[Any], reservation_lookahead: int | None = 60) -> Any:
    """Return the operational, active backend with the fewest pending jobs.

    Args:
        backends: backends to choose from (anything with a ``status()`` method).
        reservation_lookahead: skip backends reserved now or within this many minutes
            (those with a ``reservations()`` method; a lookup that fails is logged and
            ignored); ``None`` disables the check.

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
        if reservation_lookahead is not None and _reserved(backend, reservation_lookahead):
            continue
        if getattr(status, "pending_jobs", None) is None:
            raise exc.OpenQXError(f"Backend {backend.name} has no pending_jobs in its status.")
        candidates.append((status.pending_jobs, backend))
    if not candidates:
        raise exc.OpenQXError("No backend matches the criteria.")
    return min(candidates, key=lambda pair: pair[0])[1]


def _reserved(backend: Any, lookahead_minutes: int) -> bool:
    lookup = getattr(backend, "reservations", None)
    if lookup is None:
        return False
    now = datetime.now(UTC)
    try:
        return bool(lookup(now, now + timedelta(minutes=lookahead_minutes)))
    except Exception as error:  # the seed logs and ignores a failed lookup
        logger.warning("Unable to find backend reservations for %s: %s", backend.name, error)
        return False
