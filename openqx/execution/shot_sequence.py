"""``init_qubits=False``: each shot starts from the state the previous circuit left.

IBM devices run a job column-wise: shot 0 of circuit 0, 1, ..., n−1, then shot 1, and so on.
Without initialisation, circuit ``k`` of shot ``s`` starts where circuit ``k−1`` ended (circuit
0 where circuit ``n−1`` of the previous shot ended), after ``rep_delay`` of free relaxation.

The sequence is sampled as a Markov chain over the classical post-measurement states of the
job's active qubits:

- the state a circuit leaves is each active qubit's value in a final projective measurement
  (qubits the circuit measured last keep that outcome; qubits it left unmeasured or operated
  on after measuring are treated as measured at the end: their coherence across shots is
  dropped — the one approximation here, small when ``rep_delay`` is long against T2);
- during the idle time each excited qubit decays to |0⟩ with probability
  ``1 − exp(−t_idle / T1)`` (no thermal excitation, as in Aer's device noise models);
- circuit ``k`` started in basis state ``b`` is simulated exactly by Aer (the device's noise
  model, ideal measurement) as a noise-free preparation of ``b`` followed by the circuit.

Samples for each (circuit, initial state) pair come from one Aer run of ``shots`` shots (a pair
is needed at most once per shot), simulated only when the chain reaches it. The chain is first
walked with the all-zero pools standing in for unknown pairs, the pairs it reached are
simulated together, and the walk is repeated until it uses real samples only, so the result is
an exact draw of the chain (the pools are independent of the walk that consumes them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["MAX_SEQUENCE_PAIRS", "Pool", "sample_sequence"]

MAX_SEQUENCE_PAIRS = 4096
"""Most (circuit, initial state) pairs one job may need simulated."""


@dataclass(frozen=True)
class Pool:
    """Samples of one circuit from one initial state.

    Attributes:
        bits: true (unclassified) classical bits, ``[sample, clbit]``.
        finals: the active qubits' final states (bit ``j``: ``active[j]``), per sample.
    """

    bits: NDArray[np.uint8]
    finals: NDArray[np.int64]


Simulate = Callable[[list[tuple[int, int]]], dict[tuple[int, int], Pool]]
"""Runs the (circuit index, initial state) pairs and returns a pool of ``shots`` samples each."""


def sample_sequence(
    simulate: Simulate,
    num_circuits: int,
    shots: int,
    decay: Sequence[Sequence[float]],
    rng: np.random.Generator,
) -> list[NDArray[np.uint8]]:
    """Sample the column-wise shot sequence; return each circuit's bits ``[shot, clbit]``.

    Args:
        simulate: runs pairs (see ``Simulate``).
        num_circuits: circuits of the job.
        shots: shots per circuit.
        decay: ``decay[k][j]``: probability that active qubit ``j``, excited at the end of
            circuit ``k``, has decayed when the next circuit starts.
        rng: randomness of the relaxation.

    Raises:
        ValueError: the chain needs more than ``MAX_SEQUENCE_PAIRS`` pairs.
    """
    width = len(decay[0]) if decay else 0
    keep = np.zeros((shots, num_circuits), dtype=np.int64)
    for k in range(num_circuits):
        survive = rng.random((shots, width)) >= np.asarray(decay[k], dtype=float)
        keep[:, k] = (survive.astype(np.int64) << np.arange(width, dtype=np.int64)).sum(axis=1)
    keep_rows = keep.tolist()
    pools = simulate([(k, 0) for k in range(num_circuits)])
    while True:
        missing: set[tuple[int, int]] = set()
        picks = _walk(pools, num_circuits, shots, keep_rows, missing)
        if not missing:
            break
        if len(pools) + len(missing) > MAX_SEQUENCE_PAIRS:
            raise ValueError(
                f"init_qubits=False needs more than {MAX_SEQUENCE_PAIRS} (circuit, initial "
                "state) simulations for this job; use fewer active qubits or init_qubits=True."
            )
        pools.update(simulate(sorted(missing)))
    out: list[NDArray[np.uint8]] = []
    for k in range(num_circuits):
        rows = [pools[key].bits[index] for key, index in picks[k]]
        out.append(np.asarray(rows, dtype=np.uint8))
    return out


def _walk(
    pools: dict[tuple[int, int], Pool],
    num_circuits: int,
    shots: int,
    keep: list[list[int]],
    missing: set[tuple[int, int]],
) -> list[list[tuple[tuple[int, int], int]]]:
    finals = {key: pool.finals.tolist() for key, pool in pools.items()}
    used: dict[tuple[int, int], int] = {}
    picks: list[list[tuple[tuple[int, int], int]]] = [[] for _ in range(num_circuits)]
    state = 0
    for shot in range(shots):
        row = keep[shot]
        for k in range(num_circuits):
            key = (k, state)
            if key not in finals:
                missing.add(key)
                key = (k, 0)
            index = used.get(key, 0)
            used[key] = index + 1
            picks[k].append((key, index))
            state = finals[key][index] & row[k]
    return picks
