"""Counts of an emulated job without per-shot memory are the counts of its classified shots."""

from __future__ import annotations

import numpy as np
import pytest

from openqx.devices.catalog import default_catalog
from openqx.execution import emulation, readout


@pytest.mark.parametrize("width", [1, 5, 62, 63, 70])
def test_counts_without_memory_equal_the_counts_of_the_memory(width: int) -> None:
    device = default_catalog().get("fake_manila")
    snapshot = device.resolve_snapshot(None)
    assert snapshot is not None
    model = readout.readout_model(snapshot.properties, device.configuration, {}, list(range(5)))
    qubits: list[int | None] = [q if q < 5 else None for q in range(width)]
    bits = (np.random.default_rng(1).random((3000, width)) < 0.4).astype(np.uint8)
    physics = emulation.JobPhysics()
    alone = emulation._readout_data(physics, model, bits, qubits, False, np.random.default_rng(9))
    both = emulation._readout_data(physics, model, bits, qubits, True, np.random.default_rng(9))
    assert "memory" not in alone
    assert alone["counts"] == both["counts"]
    expected: dict[str, int] = {}
    for key in both["memory"]:
        expected[key] = expected.get(key, 0) + 1
    assert alone["counts"] == expected
    assert sum(alone["counts"].values()) == 3000
