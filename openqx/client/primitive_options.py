"""``PrimitiveOptions``: the options of openqx's ``SamplerV2`` and ``EstimatorV2``.

Both of qiskit-ibm-runtime's styles work::

    sampler.options.default_shots = 77            # attribute, as qiskit-ibm-runtime
    sampler.options["seed_simulator"] = 5         # mapping, as openqx documented first
    sampler.options.update(default_shots=100)

Only the names the server knows for the program are accepted (``SAMPLER_OPTIONS`` /
``ESTIMATOR_OPTIONS`` in ``openqx.core.primitives``); any other name is an
``OpenQXInputValueError`` naming it and the known ones. An option that is not set reads as
``None`` (the server's default applies); setting ``None`` unsets it. Values are checked by the
server when a job is submitted (a 400 naming the option).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from openqx.client import exceptions as exc

__all__ = ["PrimitiveOptions"]


class PrimitiveOptions(MutableMapping[str, Any]):
    """The options a primitive sends with every job, by attribute or by key.

    Args:
        program: the program the options are for (``sampler`` or ``estimator``), for messages.
        known: the option names the program accepts.
        values: initial options.

    Raises:
        OpenQXInputValueError: an initial option is not one of ``known``.
    """

    __slots__ = ("_known", "_program", "_values")

    def __init__(
        self, program: str, known: frozenset[str], values: Mapping[str, Any] | None = None
    ) -> None:
        object.__setattr__(self, "_program", program)
        object.__setattr__(self, "_known", known)
        object.__setattr__(self, "_values", {})
        for name, value in dict(values or {}).items():
            self[name] = value

    # --- attribute style --------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: slots and methods are found before.
        if name.startswith("_") or name not in self._known:
            raise AttributeError(self._unknown_message(name))
        return self._values.get(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        self._check(name)
        self._values.pop(name, None)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | self._known)

    # --- mapping style ----------------------------------------------------------------

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self._check(name)
        if value is None:
            self._values.pop(name, None)
        else:
            self._values[name] = value

    def __delitem__(self, name: str) -> None:
        del self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={value!r}" for name, value in self._values.items())
        return f"{type(self).__name__}({values})"

    # --- copies -----------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        return {"program": self._program, "known": self._known, "values": dict(self._values)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        object.__setattr__(self, "_program", state["program"])
        object.__setattr__(self, "_known", frozenset(state["known"]))
        object.__setattr__(self, "_values", dict(state["values"]))

    def __copy__(self) -> PrimitiveOptions:
        return PrimitiveOptions(self._program, self._known, self._values)

    def to_dict(self) -> dict[str, Any]:
        """The options that are set, as a new dict (what a job sends)."""
        return dict(self._values)

    # --- checks -----------------------------------------------------------------------

    def _check(self, name: str) -> None:
        if name not in self._known:
            raise exc.OpenQXInputValueError(self._unknown_message(name))

    def _unknown_message(self, name: str) -> str:
        return (
            f"Unknown {self._program} option {name!r}; known options: "
            f"{', '.join(sorted(self._known))}."
        )
