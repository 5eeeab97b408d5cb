"""``results.jsonable``: counts and per-shot memory pass through; everything else made JSON-safe."""

from __future__ import annotations

import json
import math

import numpy as np

from openqx.execution.results import jsonable


def test_counts_and_memory_come_back_equal_and_unshared() -> None:
    counts = {hex(i): i + 1 for i in range(50)}
    memory = [hex(i % 7) for i in range(1000)]
    data = {"results": [{"data": {"counts": counts, "memory": memory}}]}
    out = jsonable(data)
    assert out == data
    assert out["results"][0]["data"]["counts"] is not counts
    assert out["results"][0]["data"]["memory"] is not memory


def test_mixed_and_numpy_values_are_still_converted() -> None:
    value = {
        "flags": {"x": 1, "y": True, "z": np.int64(2)},
        "mixed": ["a", np.int64(3), complex(1, 2)],
        "tuple": ("s", "t"),
        "nan": {"k": math.nan},
        "array": np.arange(3),
    }
    out = jsonable(value)
    assert out == {
        "flags": {"x": 1, "y": True, "z": 2},
        "mixed": ["a", 3, [1.0, 2.0]],
        "tuple": ["s", "t"],
        "nan": {"k": "nan"},
        "array": [0, 1, 2],
    }
    assert type(out["flags"]["z"]) is int
    json.dumps(out, allow_nan=False)
