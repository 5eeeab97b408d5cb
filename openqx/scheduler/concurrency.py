"""How many jobs each device runs at once (``Dispatcher(concurrency=...)``).

Defaults (see ``docs/scheduling.md``): an emulated device runs at most half the workers'
slots (rounded up), an ideal simulator every slot. A device then never holds every worker,
so a job queued on another device starts as soon as one job ends, and its queue stays a
queue (fair share decides who goes next) instead of draining into the workers at once;
jobs of emulated devices are short (a noisy Aer run of a few qubits), so two or more at once
keep one device fast when it is the only one busy. ``overrides`` set a device's limit (1 is
what a real IBM device does: one job at a time).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from openqx.core.errors import BackendNotFoundError
from openqx.devices.catalog import DeviceCatalog

__all__ = ["DeviceConcurrency", "default_limit"]


def default_limit(*, simulator: bool, slots: int) -> int:
    """The default concurrency of a device given the dispatcher's ``slots``."""
    slots = max(1, slots)
    return slots if simulator else max(1, -(-slots // 2))


class DeviceConcurrency:
    """Backend name → its concurrency limit (``None`` for a backend not in the catalog).

    Args:
        is_simulator: whether a backend is an ideal simulator (``None``: unknown backend).
        slots: the dispatcher's capacity.
        overrides: configured limits per backend (at least 1).
    """

    def __init__(
        self,
        is_simulator: Callable[[str], bool | None],
        slots: int,
        overrides: Mapping[str, int] | None = None,
    ) -> None:
        self._is_simulator = is_simulator
        self._slots = slots
        self._overrides = {name: max(1, limit) for name, limit in (overrides or {}).items()}

    def __call__(self, backend: str) -> int | None:
        """The limit of ``backend``."""
        if backend in self._overrides:
            return self._overrides[backend]
        simulator = self._is_simulator(backend)
        if simulator is None:
            return None
        return default_limit(simulator=simulator, slots=self._slots)

    @classmethod
    def from_catalog(
        cls, catalog: DeviceCatalog, slots: int, overrides: Mapping[str, int] | None = None
    ) -> DeviceConcurrency:
        """The limits of ``catalog``'s devices for a dispatcher of ``slots``."""

        def is_simulator(backend: str) -> bool | None:
            try:
                return catalog.get(backend).simulator
            except BackendNotFoundError:
                return None

        return cls(is_simulator, slots, overrides)
