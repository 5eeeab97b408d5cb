"""The executors in one place, and ``make_executor`` to build one from a kind name.

Implementations live in ``inline``, ``process`` (the ``local`` kind) and ``dask``;
``distributed`` is imported only when a ``DaskExecutor`` is built."""

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

EXECUTOR_KINDS = ("local", "inline", "dask")
"""The executor kinds, as ``openqx serve --executor`` and ``OPENQX_EXECUTOR`` name them:
``local`` (worker processes on this machine, ``ProcessExecutor``), ``inline`` (threads of this
process, ``InlineExecutor``), ``dask`` (a Dask cluster, ``DaskExecutor``)."""


def default_workers() -> int:
    """Return one worker per CPU core, leaving one core to the server (at least 1)."""
    return max(1, (os.cpu_count() or 2) - 1)


def make_executor(
    kind: str = "local", workers: int | None = None, address: str | None = None
) -> JobExecutor:
    """Return an executor.

    Args:
        kind: ``"local"`` (worker processes, the default), ``"inline"`` (threads of this
            process) or ``"dask"`` (a Dask cluster).
        workers: worker count for ``local``/``inline`` (default: ``default_workers()``).
        address: Dask scheduler address (``None``: a local cluster).

    Raises:
        ValueError: unknown ``kind``; the message lists the kinds.
    """
    if kind == "inline":
        return InlineExecutor(workers or 1)
    if kind == "local":
        return ProcessExecutor(workers or default_workers())
    if kind == "dask":
        return DaskExecutor(address)
    raise ValueError(f"unknown executor kind {kind!r}; choose one of {', '.join(EXECUTOR_KINDS)}")
