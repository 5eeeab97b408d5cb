"""The executors in one place, and ``make_executor`` to build one from a kind name.

Implementations live in ``inline``, ``process`` and ``dask``; ``distributed`` is imported
only when a
``DaskExecutor`` is built."""

from __future__ import annotations

import os

from openqx.execution.dask import DaskExecutor
from openqx.execution.inline import InlineExecutor
from openqx.execution.port import JobExecutor
from openqx.execution.process import ProcessExecutor

__all__ = [
    "EXECUTOR_KINDS",
    "DaskExecutor",
    "InlineExecutor",
    "ProcessExecutor",
    "default_workers",
    "make_executor",
]

EXECUTOR_KINDS = ("local", "inline", "process", "dask")
"""``local`` is the user-facing name of ``process`` (worker processes on this machine)."""


def default_workers() -> int:
    """Return one worker per CPU core, leaving one core to the server (at least 1)."""
    return max(1, (os.cpu_count() or 2) - 1)


def make_executor(
    kind: str = "process", workers: int | None = None, address: str | None = None
) -> JobExecutor:
    """Return an executor.

    Args:
        kind: ``"inline"`` (threads of this process), ``"process"`` (worker processes, the
            default) or ``"dask"`` (a Dask cluster).
        workers: worker count for ``inline``/``process`` (default: ``default_workers()``).
        address: Dask scheduler address (``None``: a local cluster).

    Raises:
        ValueError: unknown ``kind``; the message lists the kinds.
    """
    if kind == "inline":
        return InlineExecutor(workers or 1)
    if kind in ("process", "local"):
        return ProcessExecutor(workers or default_workers())
    if kind == "dask":
        return DaskExecutor(address)
    raise ValueError(f"unknown executor kind {kind!r}; choose one of {', '.join(EXECUTOR_KINDS)}")
