"""Which device a dispatch pass serves first: a rotating start over the devices with work."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["rotate"]


def rotate(names: Sequence[str], turn: int) -> list[str]:
    """``names`` starting at position ``turn`` (modulo their number), wrapping around.

    A dispatcher that takes one job per device in turn and starts each pass one device
    further gives every device with queued jobs a free slot within ``len(names)`` passes,
    however long the other queues are.
    """
    if not names:
        return []
    start = turn % len(names)
    return [*names[start:], *names[:start]]
