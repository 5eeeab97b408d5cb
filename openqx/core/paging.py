"""Job listings come in pages: the largest page, and the checks of ``limit`` and ``skip``.

The client pages with these before sending a ``JobQuery``; the server and the stores check
them again on receipt.
"""

from __future__ import annotations

from openqx.core.bounds import INT64_MAX

__all__ = ["MAX_PAGE", "check_limit", "check_skip", "page_size"]

MAX_PAGE = 1000
"""Most jobs one ``POST /jobs/search`` answer holds."""


def check_limit(limit: object) -> int | None:
    """Check a ``limit``: ``None`` (no limit) or an integer in 0..2**63-1 (0 is no limit).

    Raises:
        ValueError: anything else.
    """
    if limit is None or (
        isinstance(limit, int) and not isinstance(limit, bool) and 0 <= limit <= INT64_MAX
    ):
        return limit
    raise ValueError(f"limit needs to be a non-negative integer below 2**63, not {limit!r}.")


def check_skip(skip: object) -> int:
    """Check a ``skip``: an integer in 0..2**63-1 (the database's ``OFFSET`` range).

    Raises:
        ValueError: anything else.
    """
    if isinstance(skip, int) and not isinstance(skip, bool) and 0 <= skip <= INT64_MAX:
        return skip
    raise ValueError(f"skip needs to be a non-negative integer below 2**63, not {skip!r}.")


def page_size(limit: int | None, maximum: int = MAX_PAGE) -> int:
    """The size of one page for a request of ``limit`` jobs (``None`` or 0: no limit).

    Args:
        limit: the most jobs wanted.
        maximum: the largest page (``MAX_PAGE`` unless a caller pages smaller).
    """
    return maximum if not limit else min(limit, maximum)
