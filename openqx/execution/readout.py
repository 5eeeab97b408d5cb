"""The readout model of emulated devices: classified bits (``meas_level=2``) and kerneled IQ
points (``meas_level=1``) from one model per qubit.

Each qubit reads out as two Gaussian clouds in the IQ plane, centred at
``μ0 = e^{i(α−δ)}`` and ``μ1 = e^{i(α+δ)}`` (arbitrary units; ``α`` is a fixed per-qubit
readout angle, ``δ = IQ_HALF_OPENING``), split by the line through the origin at angle ``α``
(the midpoint discriminator). The model is fitted to the snapshot so that this discriminator
misassigns exactly ``prob_meas1_prep0`` (``ε0``) of |0⟩ shots and ``prob_meas0_prep1`` (``ε1``)
of |1⟩ shots:

- the |0⟩ cloud's width ``σ0`` gives ``Q(D / 2σ0) = ε0`` (``D = |μ1 − μ0|``);
- when ``ε1 ≥ ε0`` (relaxation during the measurement, the usual case) the |1⟩ cloud has the
  same width and a T1 tail: a fraction ``p`` of |1⟩ shots decays at a time ``t`` of the readout
  window ``τ`` (``readout_length``; ``t`` distributed as ``exp(−t/T1)`` on ``[0, τ]``) and lands
  at ``μ0 + (μ1 − μ0)·t/τ``; ``p`` is solved so that the misassignment is ``ε1``;
- when ``ε1 < ε0`` there is no tail and the |1⟩ cloud is narrower (``Q(D / 2σ1) = ε1``).

Options change the model before sampling:

- ``use_measure_esp``: on a device with ``measure_esp_enabled`` the snapshot describes its
  default, ESP readout (|1⟩ promoted to |2⟩, so a decay during readout must cascade twice to be
  misread: ``r_esp = r²`` with ``r = 1 − exp(−τ / 2T1)``). With ESP off, ``ε1`` becomes
  ``ε1 − r_esp + r``.
- ``meas_lo_freq``: driving the resonator ``Δ`` away from ``meas_freq_est`` scales the cloud
  separation by ``1/√(1 + (2Δ/κ)²)`` (a Lorentzian response, ``κ = RESONATOR_LINEWIDTH_HZ``,
  assumed); widths stay, so both assignment errors grow.

Classified readout flips bits with the model's assignment probabilities, which are computed
analytically (they equal ``ε0``/``ε1`` without detuning), so levels 1 and 2 agree.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "FIT_CACHE_SIZE",
    "IQ_HALF_OPENING",
    "RESONATOR_LINEWIDTH_HZ",
    "QubitReadout",
    "ReadoutModel",
    "readout_angle",
    "readout_model",
]

IQ_HALF_OPENING = 0.5
"""Half the angle (radians) between the |0⟩ and |1⟩ cloud centres seen from the origin."""

RESONATOR_LINEWIDTH_HZ = 2.0e6
"""Assumed readout resonator linewidth κ/2π (IBM resonators are of the order of MHz)."""

FIT_CACHE_SIZE = 4096
"""Fitted qubit readouts (and their assignment errors) kept per process. A fit is a pure
function of its inputs (a qubit's errors, T1, readout length and detuning), so jobs on the same
snapshot and options reuse it; the fit and its errors cost ~0.1 ms a qubit."""

_MAX_ERROR = 0.49
_MIN_ERROR = 1e-7
_TAIL_GRID = 257


def _q_inverse(p: float) -> float:
    """Inverse of the Gaussian tail ``Q(x) = P(N(0,1) > x)``."""
    from statistics import NormalDist

    return -NormalDist().inv_cdf(p)


def _q(x: NDArray[np.float64] | float) -> Any:
    """Gaussian tail ``Q(x)``, vectorised."""
    from scipy.special import ndtr

    return ndtr(-np.asarray(x, dtype=float))


def readout_angle(qubit: int) -> float:
    """The fixed readout angle ``α`` of a qubit (radians, in ``[-π/2, π/2)``)."""
    golden = math.pi * (3 - math.sqrt(5))
    return ((qubit * golden) % math.pi) - math.pi / 2


@dataclass(frozen=True)
class QubitReadout:
    """The fitted readout of one qubit.

    Attributes:
        qubit: physical qubit.
        mu0: centre of the |0⟩ cloud.
        mu1: centre of the |1⟩ cloud (before detuning).
        sigma0: width (standard deviation per quadrature) of the |0⟩ cloud.
        sigma1: width of the |1⟩ cloud.
        tail: fraction of |1⟩ shots that decay during the readout window.
        tail_rate: ``τ / T1`` (shape of the decay-time distribution; 0 for uniform).
        scale: separation factor from ``meas_lo_freq`` detuning (1: on resonance).
    """

    qubit: int
    mu0: complex
    mu1: complex
    sigma0: float
    sigma1: float
    tail: float
    tail_rate: float
    scale: float = 1.0

    @property
    def centers(self) -> tuple[complex, complex]:
        """Cloud centres after the detuning contracted them towards their midpoint."""
        mid = (self.mu0 + self.mu1) / 2
        return mid + (self.mu0 - mid) * self.scale, mid + (self.mu1 - mid) * self.scale

    def assignment_errors(self) -> tuple[float, float]:
        """``(P(read 1 | |0⟩), P(read 0 | |1⟩))`` of the midpoint discriminator."""
        return _assignment_errors(self)

    def mean_iq(self, state: int) -> complex:
        """The expected IQ point of a prepared basis state (|1⟩ includes its tail)."""
        c0, c1 = self.centers
        if state == 0:
            return c0
        u = _tail_grid(self.tail_rate)
        mean_fraction = float(np.sum(u[0] * u[1]))
        return (1 - self.tail) * c1 + self.tail * (c0 + (c1 - c0) * mean_fraction)


@functools.lru_cache(maxsize=FIT_CACHE_SIZE)
def _assignment_errors(model: QubitReadout) -> tuple[float, float]:
    """``QubitReadout.assignment_errors``, remembered per (immutable, hashable) model."""
    half = abs(model.mu1 - model.mu0) * model.scale / 2
    eps0 = float(_q(half / model.sigma0))
    eps1 = (1 - model.tail) * float(_q(half / model.sigma1)) + model.tail * _tail_error(
        half, model.sigma1, model.tail_rate
    )
    return eps0, eps1


def _tail_grid(rate: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Decay-time fractions ``u`` in ``[0, 1]`` and their probability weights."""
    u = (np.arange(_TAIL_GRID) + 0.5) / _TAIL_GRID
    weights = np.exp(-rate * u)
    return u, weights / weights.sum()


def _tail_error(half: float, sigma: float, rate: float) -> float:
    """P(read 0) for a |1⟩ shot that decays during the window (``μ0`` at 0, ``μ1`` at 2·half)."""
    u, weights = _tail_grid(rate)
    return float(np.sum(weights * _q((2 * half * u - half) / sigma)))


def fit_qubit(
    qubit: int,
    eps0: float,
    eps1: float,
    *,
    t1: float | None,
    readout_length: float | None,
    scale: float = 1.0,
) -> QubitReadout:
    """Fit a qubit's readout to its assignment errors (see the module docstring).

    Fits are remembered (``FIT_CACHE_SIZE``): the result is immutable and depends on the
    arguments only.
    """
    return _fit_qubit(qubit, eps0, eps1, t1, readout_length, scale)


@functools.lru_cache(maxsize=FIT_CACHE_SIZE)
def _fit_qubit(
    qubit: int,
    eps0: float,
    eps1: float,
    t1: float | None,
    readout_length: float | None,
    scale: float,
) -> QubitReadout:
    eps0 = min(max(eps0, _MIN_ERROR), _MAX_ERROR)
    eps1 = min(max(eps1, _MIN_ERROR), _MAX_ERROR)
    alpha = readout_angle(qubit)
    mu0 = complex(math.cos(alpha - IQ_HALF_OPENING), math.sin(alpha - IQ_HALF_OPENING))
    mu1 = complex(math.cos(alpha + IQ_HALF_OPENING), math.sin(alpha + IQ_HALF_OPENING))
    half = abs(mu1 - mu0) / 2
    sigma0 = half / _q_inverse(eps0)
    rate = readout_length / t1 if t1 and readout_length else 0.0
    if eps1 < eps0:
        return QubitReadout(qubit, mu0, mu1, sigma0, half / _q_inverse(eps1), 0.0, rate, scale)
    tail_error = _tail_error(half, sigma0, rate)
    tail = 1.0 if tail_error <= eps0 else min((eps1 - eps0) / (tail_error - eps0), 1.0)
    return QubitReadout(qubit, mu0, mu1, sigma0, sigma0, tail, rate, scale)


@dataclass(frozen=True)
class ReadoutModel:
    """The readout of every qubit of a device for one job (snapshot and options)."""

    qubits: Mapping[int, QubitReadout]

    def assignment_errors(self, qubit: int) -> tuple[float, float]:
        """``(ε0, ε1)`` of a qubit; ``(0, 0)`` for a qubit without readout data."""
        model = self.qubits.get(qubit)
        return (0.0, 0.0) if model is None else model.assignment_errors()

    def classify(
        self, bits: NDArray[np.uint8], qubits: Sequence[int | None], rng: np.random.Generator
    ) -> NDArray[np.uint8]:
        """Return classified bits: ``bits[shot, slot]`` misread with each qubit's errors.

        ``qubits[slot]`` is the qubit measured into the slot (``None``: never measured, kept).
        """
        out = bits.copy()
        read = [(slot, qubit) for slot, qubit in enumerate(qubits) if qubit is not None]
        if not read:
            return out
        slots = [slot for slot, _ in read]
        errors = np.array([self.assignment_errors(qubit) for _, qubit in read])
        # One row of draws per slot, in slot order: the stream of one draw per slot in turn.
        draws = rng.random((len(slots), bits.shape[0])).T
        columns = bits[:, slots]
        flip = np.where(columns == 1, draws < errors[:, 1], draws < errors[:, 0])
        out[:, slots] = columns ^ flip.astype(np.uint8)
        return out

    def kerneled(
        self, bits: NDArray[np.uint8], qubits: Sequence[int | None], rng: np.random.Generator
    ) -> NDArray[np.complex128]:
        """Return IQ points ``[shot, slot]`` of the true outcomes ``bits`` (0: unmeasured slot)."""
        shots = bits.shape[0]
        out = np.zeros((shots, len(qubits)), dtype=np.complex128)
        for slot, qubit in enumerate(qubits):
            model = None if qubit is None else self.qubits.get(qubit)
            if model is None:
                continue
            c0, c1 = model.centers
            ones = bits[:, slot] == 1
            noise = rng.standard_normal(shots) + 1j * rng.standard_normal(shots)
            point = np.where(ones, c1 + model.sigma1 * noise, c0 + model.sigma0 * noise)
            u, weights = _tail_grid(model.tail_rate)
            decays = ones & (rng.random(shots) < model.tail)
            fraction = rng.choice(u, size=shots, p=weights)
            point = np.where(decays, c0 + (c1 - c0) * fraction + model.sigma1 * noise, point)
            out[:, slot] = point
        return out


def _qubit_value(params: Sequence[Mapping[str, Any]], name: str) -> float | None:
    for param in params:
        if param.get("name") == name:
            value = param.get("value")
            if isinstance(value, int | float):
                scale = {"us": 1e-6, "µs": 1e-6, "ns": 1e-9, "ms": 1e-3, "s": 1.0}
                return float(value) * scale.get(str(param.get("unit") or ""), 1.0)
    return None


def readout_model(
    properties: Mapping[str, Any],
    configuration: Mapping[str, Any],
    options: Mapping[str, Any],
    qubits: Sequence[int],
    meas_freq_est: Sequence[float] | None = None,
) -> ReadoutModel:
    """Fit the readout of ``qubits`` to a snapshot, with the job's ESP and LO options.

    Args:
        properties: the snapshot's ``BackendProperties`` JSON.
        configuration: the device configuration (``measure_esp_enabled``).
        options: the job's run options (``use_measure_esp``, ``meas_lo_freq`` in Hz).
        qubits: the qubits to fit (the job's measured qubits).
        meas_freq_est: the pulse defaults' measurement frequencies in Hz (for detuning).
    """
    table = properties.get("qubits") or []
    esp_device = bool(configuration.get("measure_esp_enabled", False))
    esp_off = esp_device and options.get("use_measure_esp") is False
    meas_lo = options.get("meas_lo_freq") or []
    fitted: dict[int, QubitReadout] = {}
    for qubit in qubits:
        params = table[qubit] if qubit < len(table) else []
        p10 = _qubit_value(params, "prob_meas1_prep0")
        p01 = _qubit_value(params, "prob_meas0_prep1")
        if p10 is None or p01 is None:
            symmetric = _qubit_value(params, "readout_error")
            p10 = p01 = symmetric or 0.0  # no readout data: an almost perfect readout
        t1 = _qubit_value(params, "T1")
        length = _qubit_value(params, "readout_length")
        if esp_off and t1 and length:
            relax = 1 - math.exp(-length / (2 * t1))
            p01 = p01 - relax**2 + relax
        scale = 1.0
        if qubit < len(meas_lo) and meas_freq_est and qubit < len(meas_freq_est):
            detuning = float(meas_lo[qubit]) - float(meas_freq_est[qubit])
            scale = 1 / math.sqrt(1 + (2 * detuning / RESONATOR_LINEWIDTH_HZ) ** 2)
        fitted[qubit] = fit_qubit(qubit, p10, p01, t1=t1, readout_length=length, scale=scale)
    return ReadoutModel(fitted)
