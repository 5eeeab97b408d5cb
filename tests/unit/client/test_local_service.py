"""``OpenQX.local()`` finds the embedded service through its entry point."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import pytest

from openqx.client import OpenQX
from openqx.client import exceptions as exc

STARTED: list[dict[str, Any]] = []


def fake_start(**kwargs: Any) -> str:
    """Stands in for ``openqx.embedded.start_local``."""
    STARTED.append(kwargs)
    return "provider"


def _registered(value: str | None) -> Any:
    """An ``entry_points`` replacement holding one entry point (or none)."""

    def entry_points(*, group: str, name: str) -> metadata.EntryPoints:
        assert (group, name) == ("openqx.local_service", "default")
        if value is None:
            return metadata.EntryPoints([])
        return metadata.EntryPoints([metadata.EntryPoint(name=name, value=value, group=group)])

    return entry_points


def test_the_distribution_registers_the_embedded_service() -> None:
    found = metadata.entry_points(group="openqx.local_service", name="default")
    assert [entry.value for entry in found] == ["openqx.embedded:start_local"]


def test_local_calls_the_registered_function_with_the_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        metadata,
        "entry_points",
        _registered(f"{__name__}:fake_start"),
    )
    STARTED.clear()
    assert OpenQX.local(executor="inline") == "provider"
    assert STARTED == [{"executor": "inline"}]


def test_no_entry_point_names_the_extras_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metadata, "entry_points", _registered(None))
    with pytest.raises(exc.OpenQXAccountError, match=r"pip install openqx\[server\]"):
        OpenQX.local()


def test_missing_server_dependencies_name_the_extras_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(metadata, "entry_points", _registered("openqx_no_such_module:start"))
    with pytest.raises(exc.OpenQXAccountError, match=r"pip install openqx\[server\]") as info:
        OpenQX.local()
    assert isinstance(info.value.__cause__, ImportError)
