"""Circuit metadata on the wire: what Qiskit users keep there beyond JSON's types (numpy
values, complex numbers) is carried as the seed's encoder carried it; anything else is a
TypeError naming the type."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit

from openqx.core.circuit_payload import dump_circuits, load_circuits


def test_numpy_and_complex_metadata_round_trip_as_json_values() -> None:
    metadata = {
        "array": np.array([[1.0, 2.0], [3.0, 4.0]]),
        "count": np.int64(3),
        "ratio": np.float32(0.5),
        "flag": np.bool_(True),
        "amplitude": 1 + 2j,
        "nested": {"values": [np.int32(1), np.float64(2.5)]},
        "plain": "kept",
    }
    (loaded,) = load_circuits(dump_circuits([QuantumCircuit(1, 1, metadata=metadata)]))
    assert loaded.metadata == {
        "array": [[1.0, 2.0], [3.0, 4.0]],
        "count": 3,
        "ratio": 0.5,
        "flag": True,
        "amplitude": [1.0, 2.0],
        "nested": {"values": [1, 2.5]},
        "plain": "kept",
    }


def test_metadata_json_cannot_carry_is_a_type_error_naming_the_type() -> None:
    class Opaque:
        pass

    with pytest.raises(TypeError, match="Opaque"):
        dump_circuits([QuantumCircuit(1, metadata={"thing": Opaque()})])
