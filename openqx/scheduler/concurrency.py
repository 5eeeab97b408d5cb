"""How many jobs each device runs at once (``Dispatcher(concurrency=...)``).

Defaults (see ``docs/scheduling.md``): an emulated device runs at most half the workers'
slots (rounded up), an ideal simulator every slot. A device then never holds every worker,
so a job queued on another device starts as soon as one job ends, and its queue stays a
queue (fair share decides who goes next) instead of draining into the workers at once;
jobs of emulated devices are short (a noisy Aer run of a few qubits), so two or more at once
keep one device fast when it is the only one busy. ``overrides`` set a device's limit (1 is
what a real IBM device does: one job at a time); they come from ``Settings.device_concurrency``
(``OPENQX_DEVICE_CONCURRENCY``, ``openqx serve --device-concurrency``). An override below 1,
or one naming a device the catalog does not serve, is refused (``ValueError``): a limit of 0
would leave the device's jobs queued for ever (maintenance is the way to stop a device), and a
misspelt name would otherwise be ignored without a word.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping

from openqx.core.errors import BackendNotFoundError
from openqx.devices.catalog import DeviceCatalog

__all__ = ["DeviceConcurrency", "check_override", "default_limit"]


def check_override(backend: str, limit: int) -> None:
    """Raise ``ValueError`` unless ``limit`` can be ``backend``'s configured concurrency."""
    if not backend:
        raise ValueError(f"bad device concurrency {backend}={limit}; expected device=N")
    if limit < 1:
        raise ValueError(
            f"bad device concurrency {backend}={limit}; a device runs at least 1 job at once "
            "(take a device offline with 'openqx admin maintenance-start')"
        )


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

    Raises:
        ValueError: an override below 1.
    """

    def __init__(
        self,
        is_simulator: Callable[[str], bool | None],
        slots: int,
        overrides: Mapping[str, int] | None = None,
    ) -> None:
        self._is_simulator = is_simulator
        self._slots = slots
        self._overrides = dict(overrides or {})
        for name, limit in self._overrides.items():
            check_override(name, limit)

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
        """The limits of ``catalog``'s devices for a dispatcher of ``slots``.

        Raises:
            ValueError: an override below 1, or for a device ``catalog`` does not serve.
        """
        served = catalog.names()
        for name in overrides or {}:
            if name not in catalog:
                close = difflib.get_close_matches(name, served, n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise ValueError(
                    f"device concurrency for {name!r}, which this server does not serve{hint}"
                )

        def is_simulator(backend: str) -> bool | None:
            try:
                return catalog.get(backend).simulator
            except BackendNotFoundError:
                return None

        return cls(is_simulator, slots, overrides)
