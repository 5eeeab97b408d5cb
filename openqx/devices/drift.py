"""The drift model: recalibrations generated from a real calibration snapshot.

A device's real snapshot (its *anchor*) is recalibration 0. Recalibration ``k`` happens
``k * period`` later and is a pure function of (anchor, model, device name, ``k``): nothing is
generated ahead of time, any ``k`` is computed on its own in constant time, and the same inputs
give the same snapshot in every process. ``docs/devices.md`` describes the physics and where the
magnitudes come from; in short, per qubit:

* ``ln T1`` wanders as a mean-reverting (Ornstein-Uhlenbeck-like) process around the anchor's
  value, plus occasional sharp drops (a two-level-system defect tuning through resonance) that
  recover exponentially;
* the pure-dephasing rate wanders the same way, and ``T2 = 1 / (1/(2 T1) + 1/T_phi)``, so
  ``T2 <= 2 T1`` holds in every generated snapshot;
* the qubit frequency wanders by tens of kHz;
* readout assignment errors follow T1 (relaxation during the readout window) and drift by a
  log-normal factor; gate errors follow T1/T2 (their coherence-limited part) and drift by a
  log-normal factor on the rest, and (from model version 2) never fall below the coherence
  limit of the generated T1/T2 at the gate's length: a device cannot be better than its
  qubits' relaxation allows, and Aer's noise model would apply that limit anyway.

Each process is a moving average of seeded white noise over a finite window (``window`` past
recalibrations, enough for the kernel to decay below 1e-3), which is what makes random access
exact and cheap.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

__all__ = [
    "MODEL_VERSION",
    "MODEL_VERSIONS",
    "DriftModel",
    "coherence_limited_error",
    "generate_properties",
]

MODEL_VERSION = 2
"""The version new snapshots are generated with; bumped whenever the generation changes.

It is part of the model's fingerprint, so a new version gives new generated snapshot ids.
Version 1 had no coherence floor on gate errors."""

MODEL_VERSIONS = (1, 2)
"""Versions whose snapshots can still be rebuilt from their ids (a job keeps the id it ran with)."""

_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ns": 1e-9}
_FREQ_UNITS = {"Hz": 1.0, "kHz": 1e3, "MHz": 1e6, "GHz": 1e9}
_KERNEL_CUTOFF = 1e-3
_MAX_WINDOW = 512
_NOT_DRIFTED_ERROR = 0.5
"""Gate or readout errors at or above this are broken or uncalibrated parts: kept as they are."""

# Streams of per-qubit Gaussian noise, in the order they are drawn.
_T1, _TPHI, _FREQ, _RO0, _RO1, _GATE1 = range(6)
_N_STREAMS = 6


@dataclass(frozen=True)
class DriftModel:
    """Parameters of the drift model (defaults: see ``docs/devices.md`` for their sources).

    Attributes:
        seed: combined with the device name and the anchor's id into each device's seed.
        period: time between recalibrations.
        t1_sigma: stationary standard deviation of ``ln T1`` (0.25: T1 within about ±25 %).
        t1_correlation: correlation time of ``ln T1``.
        tls_rate_per_day: probability per qubit per day that a TLS defect comes into resonance.
        tls_depth: range of the factor a TLS drop multiplies T1 by (log-uniform).
        tls_recovery: time constant with which a drop recovers.
        tphi_sigma: stationary standard deviation of ``ln`` of the pure-dephasing time.
        tphi_correlation: correlation time of the dephasing process.
        frequency_sigma_hz: stationary standard deviation of the qubit frequency, in Hz.
        frequency_correlation: correlation time of the frequency.
        readout_sigma: stationary standard deviation of ``ln`` of the non-relaxation part of the
            readout assignment errors.
        gate_sigma: stationary standard deviation of ``ln`` of the non-coherence part of the
            gate errors.
        error_correlation: correlation time of readout and gate error drift.
    """

    seed: int = 0
    period: timedelta = timedelta(days=1)
    t1_sigma: float = 0.25
    t1_correlation: timedelta = timedelta(days=3)
    tls_rate_per_day: float = 0.03
    tls_depth: tuple[float, float] = (0.2, 0.6)
    tls_recovery: timedelta = timedelta(days=2)
    tphi_sigma: float = 0.3
    tphi_correlation: timedelta = timedelta(days=3)
    frequency_sigma_hz: float = 20e3
    frequency_correlation: timedelta = timedelta(days=5)
    readout_sigma: float = 0.15
    gate_sigma: float = 0.15
    error_correlation: timedelta = timedelta(days=5)

    def __post_init__(self) -> None:
        if self.period <= timedelta(0):
            raise ValueError(f"drift period must be positive, got {self.period}")
        low, high = self.tls_depth
        if not 0 < low <= high <= 1:
            raise ValueError(f"tls_depth must satisfy 0 < low <= high <= 1, got {self.tls_depth}")
        if not 0 <= self.tls_rate_per_day:
            raise ValueError("tls_rate_per_day must not be negative")

    @functools.cached_property
    def fingerprint(self) -> str:
        """8 hex characters naming these parameters and ``MODEL_VERSION`` (part of snapshot ids)."""
        return self.fingerprints[MODEL_VERSION]

    @functools.cached_property
    def fingerprints(self) -> dict[int, str]:
        """The fingerprint of these parameters under each version of ``MODEL_VERSIONS``."""
        fields = {k: str(v) for k, v in asdict(self).items()}
        params = ",".join(f"{k}={fields[k]}" for k in sorted(fields))
        return {
            version: hashlib.sha256(f"v{version}:{params}".encode()).hexdigest()[:8]
            for version in MODEL_VERSIONS
        }

    def version_of(self, fingerprint: str) -> int | None:
        """The model version whose fingerprint of these parameters is ``fingerprint``, or None."""
        return next((v for v, f in self.fingerprints.items() if f == fingerprint), None)

    @functools.cached_property
    def window(self) -> int:
        """Past recalibrations each process looks back over (kernel weight below 1e-3 beyond)."""
        longest = max(
            self.t1_correlation,
            self.tls_recovery,
            self.tphi_correlation,
            self.frequency_correlation,
            self.error_correlation,
        )
        steps = math.ceil(math.log(1 / _KERNEL_CUTOFF) * (longest / self.period))
        return max(1, min(steps, _MAX_WINDOW))

    def device_seed(self, device_name: str, anchor_id: str) -> int:
        """The 64-bit seed of one device's series from one anchor."""
        text = f"{self.seed}:{device_name}:{anchor_id}"
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


# --------------------------------------------------------------------------------------------
# The anchor, parsed once into arrays


class AnchorData:
    """The numbers of an anchor snapshot the model drifts, in SI units (nan when absent)."""

    def __init__(self, properties: dict[str, Any]) -> None:
        import numpy as np

        qubits: list[list[dict[str, Any]]] = properties.get("qubits") or []
        n = len(qubits)
        self.num_qubits = n
        self.t1 = np.full(n, np.nan)
        self.t2 = np.full(n, np.nan)
        self.readout_length = np.zeros(n)
        self.p01 = np.full(n, np.nan)  # prob_meas0_prep1
        self.p10 = np.full(n, np.nan)  # prob_meas1_prep0
        for q, params in enumerate(qubits):
            for item in params:
                name, value, unit = item.get("name"), item.get("value"), item.get("unit", "")
                if not isinstance(value, int | float):
                    continue
                if name == "T1":
                    self.t1[q] = value * _TIME_UNITS.get(unit, 1e-6)
                elif name == "T2":
                    self.t2[q] = value * _TIME_UNITS.get(unit, 1e-6)
                elif name == "readout_length":
                    self.readout_length[q] = value * _TIME_UNITS.get(unit, 1e-9)
                elif name == "prob_meas0_prep1":
                    self.p01[q] = value
                elif name == "prob_meas1_prep0":
                    self.p10[q] = value
        edges: set[tuple[int, int]] = set()
        for gate in properties.get("gates") or []:
            qs = gate.get("qubits") or []
            if len(qs) == 2:
                edges.add((min(qs), max(qs)))
        self.edges = {edge: i for i, edge in enumerate(sorted(edges))}


# --------------------------------------------------------------------------------------------
# Noise processes


def _draws(seed: int, step: int, num_qubits: int, num_edges: int) -> tuple[Any, Any, Any]:
    """The white noise of recalibration ``step``: qubit normals, edge normals, TLS uniforms."""
    import numpy as np

    rng = np.random.default_rng([seed, step])
    return (
        rng.standard_normal((_N_STREAMS, num_qubits)),
        rng.standard_normal(num_edges),
        rng.random((2, num_qubits)),
    )


class _Deviations:
    """The processes' values at one recalibration (log-space unless stated)."""

    def __init__(self, model: DriftModel, anchor: AnchorData, seed: int, step: int) -> None:
        import numpy as np

        n, e = anchor.num_qubits, len(anchor.edges)
        period = model.period
        first = max(1, step - model.window + 1)
        lags = np.arange(step - first, -1, -1, dtype=float)  # lag of each draw, oldest first
        qubit_noise = np.zeros((step - first + 1, _N_STREAMS, n))
        edge_noise = np.zeros((step - first + 1, e))
        tls = np.zeros((step - first + 1, 2, n))
        for row, j in enumerate(range(first, step + 1)):
            qubit_noise[row], edge_noise[row], tls[row] = _draws(seed, j, n, e)

        def kernel(sigma: float, correlation: timedelta) -> FloatArray:
            """Weights of the window's draws: a stationary AR(1) of spread ``sigma``."""
            a = math.exp(-(period / correlation))
            weights: FloatArray = sigma * math.sqrt(1 - a * a) * a**lags
            return weights

        sigmas = [
            (model.t1_sigma, model.t1_correlation),
            (model.tphi_sigma, model.tphi_correlation),
            (model.frequency_sigma_hz, model.frequency_correlation),
            (model.readout_sigma, model.error_correlation),
            (model.readout_sigma, model.error_correlation),
            (model.gate_sigma, model.error_correlation),
        ]
        values = np.empty((_N_STREAMS, n))
        for stream, (sigma, correlation) in enumerate(sigmas):
            values[stream] = kernel(sigma, correlation) @ qubit_noise[:, stream, :]
        self.ln_t1 = values[_T1]
        self.ln_tphi = values[_TPHI]
        self.frequency_hz = values[_FREQ]
        self.ln_ro0 = values[_RO0]
        self.ln_ro1 = values[_RO1]
        self.ln_gate1 = values[_GATE1]
        self.ln_gate2 = kernel(model.gate_sigma, model.error_correlation) @ edge_noise

        # TLS drops: an event at step j multiplies T1 by a log-uniform factor that recovers as
        # exp(-(elapsed)/tls_recovery) in log space.
        p_event = 1 - math.exp(-model.tls_rate_per_day * (period / timedelta(days=1)))
        low, high = (math.log(x) for x in model.tls_depth)
        events = tls[:, 0, :] < p_event
        depth = low + tls[:, 1, :] * (high - low)
        recovery = np.exp(-lags * (period / model.tls_recovery))
        self.ln_tls = recovery @ (events * depth)
        self.ln_t1 = self.ln_t1 + self.ln_tls


# --------------------------------------------------------------------------------------------
# Physics helpers (times in seconds)


def _relaxation_during_readout(readout_length: Any, t1: Any) -> Any:
    """Probability that |1> decays in the first half of the readout window."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nan_to_num(np.where(t1 > 0, 1 - np.exp(-readout_length / (2 * t1)), 0.0))


def _drift_error(anchor_value: float, delta_physics: float, rest: float, ln_factor: float) -> float:
    """An error drifted as anchor + change of its physical part + change of its control part."""
    if not 0 <= anchor_value < _NOT_DRIFTED_ERROR:
        return anchor_value
    value = anchor_value + delta_physics + rest * (math.exp(ln_factor) - 1)
    return min(max(value, 0.0), _NOT_DRIFTED_ERROR)


# --------------------------------------------------------------------------------------------
# Generation


def generate_properties(
    anchor_properties: dict[str, Any],
    anchor: AnchorData,
    model: DriftModel,
    seed: int,
    step: int,
    when: datetime,
    version: int = MODEL_VERSION,
) -> dict[str, Any]:
    """Return the BackendProperties JSON of recalibration ``step`` (>= 1) dated ``when``.

    Args:
        anchor_properties: the anchor snapshot's properties (not modified).
        anchor: the same, parsed (``AnchorData(anchor_properties)``).
        model: the drift parameters.
        seed: the series' seed (``model.device_seed(...)``).
        step: the recalibration number, 1 for the first after the anchor.
        when: the recalibration's date (aware).
        version: the model version to generate with (one of ``MODEL_VERSIONS``; version 1
            rebuilds snapshots generated before the coherence floor).
    """
    import numpy as np

    if step < 1:
        raise ValueError(f"recalibration step must be >= 1, got {step}")
    if version not in MODEL_VERSIONS:
        raise ValueError(f"unknown drift model version {version}; known: {MODEL_VERSIONS}")
    dev = _Deviations(model, anchor, seed, step)
    stamp = when.isoformat()

    t1 = anchor.t1 * np.exp(dev.ln_t1)
    phi_rate0 = np.nan_to_num(np.maximum(1 / anchor.t2 - 1 / (2 * anchor.t1), 0.0))
    phi_rate = phi_rate0 * np.exp(-dev.ln_tphi)
    with np.errstate(divide="ignore"):
        t2 = np.where(
            np.isnan(anchor.t1),
            anchor.t2 * np.exp(dev.ln_tphi),
            np.minimum(1 / (1 / (2 * t1) + phi_rate), 2 * t1),
        )
    relax0 = _relaxation_during_readout(anchor.readout_length, anchor.t1)
    relax = _relaxation_during_readout(anchor.readout_length, t1)

    readout: dict[str, Any] = {}
    for q in range(anchor.num_qubits):
        p01_0, p10_0 = float(anchor.p01[q]), float(anchor.p10[q])
        p01 = p01_0
        if not math.isnan(p01_0):
            rest = max(p01_0 - float(relax0[q]), 0.0)
            p01 = _drift_error(p01_0, float(relax[q] - relax0[q]), rest, float(dev.ln_ro1[q]))
        p10 = p10_0
        if not math.isnan(p10_0):
            p10 = _drift_error(p10_0, 0.0, p10_0, float(dev.ln_ro0[q]))
        readout[f"p01_{q}"], readout[f"p10_{q}"] = p01, p10

    def readout_ratio(q: int) -> float:
        p01_0, p10_0 = float(anchor.p01[q]), float(anchor.p10[q])
        total0 = p01_0 + p10_0
        if math.isnan(total0) or total0 <= 0:
            return 1.0
        return float((readout[f"p01_{q}"] + readout[f"p10_{q}"]) / total0)

    qubits_out: list[list[dict[str, Any]]] = []
    for q, params in enumerate(anchor_properties.get("qubits") or []):
        out: list[dict[str, Any]] = []
        for item in params:
            new = dict(item)
            new["date"] = stamp
            name, unit = item.get("name"), item.get("unit", "")
            value = item.get("value")
            if isinstance(value, int | float) and not isinstance(value, bool):
                if name == "T1" and not math.isnan(t1[q]):
                    new["value"] = float(t1[q]) / _TIME_UNITS.get(unit, 1e-6)
                elif name == "T2" and not math.isnan(t2[q]):
                    new["value"] = float(t2[q]) / _TIME_UNITS.get(unit, 1e-6)
                elif name == "frequency" and unit in _FREQ_UNITS:
                    new["value"] = value + float(dev.frequency_hz[q]) / _FREQ_UNITS[unit]
                elif name == "prob_meas0_prep1":
                    new["value"] = readout[f"p01_{q}"]
                elif name == "prob_meas1_prep0":
                    new["value"] = readout[f"p10_{q}"]
                elif name == "readout_error" and 0 <= value < _NOT_DRIFTED_ERROR:
                    new["value"] = min(value * readout_ratio(q), _NOT_DRIFTED_ERROR)
            out.append(new)
        qubits_out.append(out)

    gate_drift = _GateDrift(anchor, dev, t1, t2, readout_ratio, floor=version >= 2)
    gates_out: list[dict[str, Any]] = []
    for gate in anchor_properties.get("gates") or []:
        qs: list[int] = list(gate.get("qubits") or [])
        name = str(gate.get("gate", ""))
        params_out: list[dict[str, Any]] = []
        length = 0.0
        for item in gate.get("parameters") or []:
            if item.get("name") == "gate_length" and isinstance(item.get("value"), int | float):
                length = item["value"] * _TIME_UNITS.get(item.get("unit", "ns"), 1e-9)
        for item in gate.get("parameters") or []:
            new = dict(item)
            new["date"] = stamp
            value = item.get("value")
            if item.get("name") == "gate_error" and isinstance(value, int | float):
                new["value"] = gate_drift(name, qs, float(value), length)
            params_out.append(new)
        new_gate = dict(gate)
        new_gate["parameters"] = params_out
        gates_out.append(new_gate)

    result = dict(anchor_properties)
    result["last_update_date"] = stamp
    result["qubits"] = qubits_out
    result["gates"] = gates_out
    return result


def _idle_infidelity(length: float, t1: float, t2: float) -> float:
    """Average gate infidelity of idling ``length`` seconds under T1/T2 (thermal relaxation)."""
    decay1 = math.exp(-length / t1) if t1 > 0 else 1.0
    decay2 = math.exp(-length / t2) if t2 > 0 else 1.0
    return (3 - decay1 - 2 * decay2) / 6


def coherence_limited_error(length: float, t1: list[float], t2: list[float]) -> float:
    """Average gate infidelity of thermal relaxation alone during a gate on ``len(t1)`` qubits.

    The channel is the tensor product of each qubit's amplitude and phase damping over
    ``length`` seconds (``T2`` capped at ``2 T1``; a time that is not positive means no decay)
    -- the relaxation part Aer's ``from_backend`` noise model adds to every gate. With
    ``a = e^{-t/T1}``, ``b = e^{-t/T2}`` the process fidelity is ``prod (1 + a + 2b) / 4`` and
    the average gate fidelity ``(d F_pro + 1) / (d + 1)`` for ``d = 2**n``.
    """
    process_fidelity = 1.0
    for one_t1, one_t2 in zip(t1, t2, strict=True):
        if one_t1 > 0 and one_t2 > 0:
            one_t2 = min(one_t2, 2 * one_t1)
        decay1 = math.exp(-length / one_t1) if one_t1 > 0 else 1.0
        decay2 = math.exp(-length / one_t2) if one_t2 > 0 else 1.0
        process_fidelity *= (1 + decay1 + 2 * decay2) / 4
    dim: int = 2 ** len(t1)
    return max(1 - (dim * process_fidelity + 1) / (dim + 1), 0.0)


class _GateDrift:
    """Drifts ``gate_error`` values of one recalibration (plain floats: called per gate)."""

    def __init__(
        self,
        anchor: AnchorData,
        dev: _Deviations,
        t1: Any,
        t2: Any,
        readout_ratio: Any,
        *,
        floor: bool,
    ) -> None:
        self.num_qubits = anchor.num_qubits
        self.edges = anchor.edges
        self.t1_0 = [0.0 if math.isnan(x) else float(x) for x in anchor.t1]
        self.t2_0 = [0.0 if math.isnan(x) else float(x) for x in anchor.t2]
        self.t1 = [0.0 if math.isnan(x) else float(x) for x in t1]
        self.t2 = [0.0 if math.isnan(x) else float(x) for x in t2]
        self.ln_gate1 = [float(x) for x in dev.ln_gate1]
        self.ln_gate2 = [float(x) for x in dev.ln_gate2]
        self.readout_ratio = readout_ratio
        self.floor = floor

    def __call__(self, name: str, qubits: list[int], value: float, length: float) -> float:
        if any(not 0 <= q < self.num_qubits for q in qubits):
            return value
        if name.startswith("measure") and len(qubits) == 1:
            if not 0 <= value < _NOT_DRIFTED_ERROR:
                return value
            return min(value * float(self.readout_ratio(qubits[0])), _NOT_DRIFTED_ERROR)
        if name.startswith("reset") or len(qubits) not in (1, 2):
            return value
        coh0 = [_idle_infidelity(length, self.t1_0[q], self.t2_0[q]) for q in qubits]
        coh = [_idle_infidelity(length, self.t1[q], self.t2[q]) for q in qubits]
        if len(qubits) == 1:
            coherence0, coherence = coh0[0], coh[0]
            ln_factor = self.ln_gate1[qubits[0]]
        else:
            # Two independent channels: average infidelity ~ 1.2 x (sum of one-qubit ones).
            coherence0, coherence = 1.2 * sum(coh0), 1.2 * sum(coh)
            edge = self.edges.get((min(qubits), max(qubits)))
            ln_factor = self.ln_gate2[edge] if edge is not None else 0.0
        rest = max(value - coherence0, 0.0)
        drifted = _drift_error(value, coherence - coherence0, rest, ln_factor)
        if not self.floor or not 0 <= value < _NOT_DRIFTED_ERROR:
            return drifted
        limit = coherence_limited_error(
            length, [self.t1[q] for q in qubits], [self.t2[q] for q in qubits]
        )
        return max(drifted, min(limit, _NOT_DRIFTED_ERROR))
