"""Decoding users' QPY where a crash or a memory blow-up cannot take the API process down.

Every payload's headers are checked first, in the API process (``core.qpy_header``: cheap,
``struct`` reads, nothing allocated for the claimed counts). A payload that passes and is
small (``in_process_bytes``, 64 KiB by default: at most ~2,600 instructions, a few
milliseconds of decoding) is then decoded in-process, which keeps the common small job fast.
Larger ones are decoded in a small pool of separate processes (``spawn``ed, so they share
nothing with the server's threads) whose address space is capped with ``RLIMIT_AS`` and whose
every decode has a time limit. A decoder that runs out of memory, aborts (Qiskit's Rust reader
aborts on some allocation failures) or runs over its time is killed and its pool started
again on the next payload; the user gets a ``ValueError`` naming the limit, the server
carries on. The decoded circuits come back to the API process pickled.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from qiskit import QuantumCircuit

from openqx.core import circuit_payload, errors
from openqx.core.qpy_header import QpyLimits, check_qpy

__all__ = [
    "DEFAULT_DECODE_SECONDS",
    "DEFAULT_DECODER_MEMORY",
    "DEFAULT_IN_PROCESS_BYTES",
    "MAX_QASM_CHARACTERS",
    "GuardedDecoder",
]

logger = logging.getLogger(__name__)

DEFAULT_IN_PROCESS_BYTES = 64 * 1024
"""Payloads up to this size (after the header check) are decoded in the API process."""
DEFAULT_DECODER_MEMORY = 4 * 1024**3
"""Address space (``RLIMIT_AS``) of each decoder process, in bytes."""
MAX_QASM_CHARACTERS = 4 * 1024 * 1024
"""Most characters of OpenQASM source in one job (all its circuits together)."""
DEFAULT_DECODE_SECONDS = 30.0
"""Longest one decode may take in a decoder process."""


class GuardedDecoder:
    """Loads users' QPY payloads: header check, then in-process or in a guarded pool.

    Args:
        workers: decoder processes (started on the first large payload).
        memory_bytes: each decoder process's ``RLIMIT_AS``.
        time_limit: seconds one decode may take in the pool.
        in_process_bytes: payloads up to this size are decoded in-process (``0``: none).
    """

    def __init__(
        self,
        *,
        workers: int = 2,
        memory_bytes: int = DEFAULT_DECODER_MEMORY,
        time_limit: float = DEFAULT_DECODE_SECONDS,
        in_process_bytes: int = DEFAULT_IN_PROCESS_BYTES,
    ) -> None:
        self.workers = workers
        self.memory_bytes = memory_bytes
        self.time_limit = time_limit
        self.in_process_bytes = in_process_bytes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def load(
        self, data: bytes, *, source: str = "the payload", limits: QpyLimits | None = None
    ) -> list[QuantumCircuit]:
        """The circuits of QPY ``data``.

        Raises:
            ValueError: over a limit of ``limits`` or of this decoder (memory, time), or not a
                valid payload; the message names the problem.
        """
        check_qpy(data, limits, source=source)
        if len(data) <= self.in_process_bytes:
            return circuit_payload.load_circuits(data, source=source, limits=limits)
        return self._in_pool(_decode, data, source, limits, self.memory_bytes, source=source)

    def _in_pool(
        self, function: Callable[..., list[QuantumCircuit]], *args: Any, source: str = "the job"
    ) -> list[QuantumCircuit]:
        """Run ``function(*args)`` in a decoder process within the memory and time limits."""
        pool = self._started()
        future = pool.submit(function, *args)
        try:
            return future.result(timeout=self.time_limit)
        except FutureTimeout:
            self._restart(pool, "a decode ran over its time limit")
            raise ValueError(
                f"{source} took longer than the limit of {self.time_limit:g} s to decode."
            ) from None
        except (BrokenExecutor, MemoryError):
            self._restart(pool, "a decoder process died or ran out of memory")
            raise ValueError(
                f"{source} could not be decoded within the decoder's memory limit of "
                f"{self.memory_bytes // 1024**2} MiB."
            ) from None
        except ValueError:
            raise
        except Exception as error:  # e.g. a result that does not unpickle
            raise ValueError(
                f"{source} is not a valid QPY payload: {type(error).__name__}"
            ) from None

    def parse_qasm(self, sources: Sequence[str], version: int) -> list[QuantumCircuit]:
        """The circuits of OpenQASM ``sources`` (``server.qasm``), parsed in-process when
        their total size is small, else in the guarded pool.

        Raises:
            ValueError: over ``MAX_QASM_CHARACTERS``, over this decoder's memory or time, or a
                program that does not parse (the message names the circuit and position).
        """
        size = sum(len(source) for source in sources)
        if size > MAX_QASM_CHARACTERS:
            raise ValueError(
                f"The OpenQASM {version} source is {size} characters, over the limit of "
                f"{MAX_QASM_CHARACTERS} characters per job."
            )
        if size <= self.in_process_bytes:
            return _parse_qasm(list(sources), version, None)
        return self._in_pool(_parse_qasm, list(sources), version, self.memory_bytes)

    def close(self) -> None:
        """Stop the decoder processes; later large payloads are refused."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            _kill(pool)

    def _started(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise ValueError("The server is shutting down; send the job again.")
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
                )
            return self._pool

    def _restart(self, pool: ProcessPoolExecutor, why: str) -> None:
        """Kill ``pool`` (if still the current one); the next large payload starts a new one."""
        logger.warning("restarting the QPY decoder pool: %s", why, extra={"action": "decode"})
        with self._lock:
            if self._pool is pool:
                self._pool = None
        _kill(pool)


def _kill(pool: ProcessPoolExecutor) -> None:
    """Kill a pool's processes (a stuck decode never returns by itself) and shut it down."""
    processes = dict(getattr(pool, "_processes", None) or {})  # no public way to reach them
    for process in processes.values():
        if process.is_alive():
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def _cap_memory(memory_bytes: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _parse_qasm(sources: list[str], version: int, memory_bytes: int | None) -> list[QuantumCircuit]:
    """Parse OpenQASM (in a decoder process when ``memory_bytes`` is given: capped first)."""
    from openqx.server.qasm import circuits_from_qasm

    if memory_bytes is not None:
        _cap_memory(memory_bytes)
    try:
        return circuits_from_qasm(sources, version)
    except errors.InvalidInputError as error:
        raise ValueError(str(error)) from None


def _decode(
    data: bytes, source: str, limits: QpyLimits | None, memory_bytes: int
) -> list[QuantumCircuit]:
    """In a decoder process: cap the address space, then load."""
    _cap_memory(memory_bytes)
    try:
        return circuit_payload.load_circuits(data, source=source, limits=limits)
    except ValueError as error:
        if isinstance(error.__cause__, MemoryError):
            raise ValueError(
                f"{source} could not be decoded within the decoder's memory limit of "
                f"{memory_bytes // 1024**2} MiB."
            ) from None
        raise ValueError(str(error)) from None
