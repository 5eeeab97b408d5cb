"""``PulseDefaults``: the seed's pulse defaults as a plain object (Qiskit 2 has no pulse
models). Shared by the client (``backend.defaults()``) and the devices that compute them
(``openqx.devices.pulse_defaults``).

Frequencies are in Hz on the object and in GHz in its JSON, as in qiskit-terra's
``PulseDefaults`` that qiskit-ibmq-provider 0.20 returned: ``backend.run(circuits,
qubit_lo_freq=backend.defaults().qubit_freq_est)`` (run options in Hz) works as it did."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GHZ", "PulseDefaults"]

GHZ = 1e9
"""Hz in a GHz: the object's frequencies are in Hz, its JSON's in GHz."""


@dataclass(frozen=True)
class PulseDefaults:
    """The seed's pulse defaults, as far as they follow from a snapshot and a configuration.

    Attributes:
        qubit_freq_est: estimated qubit frequencies in Hz, per qubit (the snapshot's
            ``frequency``; else the middle of the configuration's ``qubit_lo_range``).
        meas_freq_est: estimated measurement (readout resonator) frequencies in Hz, per
            qubit (the middle of ``meas_lo_range``, which IBM sets to the estimate ± 0.5 GHz).
        buffer: samples between pulses (0: openqx schedules no pulses).
        pulse_library: calibrated pulses (empty: pulse jobs are refused).
        cmd_def: command definitions (empty, for the same reason).
        meas_kernel: the default measurement kernel, ``{"name": ..., "params": {}}``.
        discriminator: the default discriminator, ``{"name": ..., "params": {}}``.
    """

    qubit_freq_est: list[float]
    meas_freq_est: list[float]
    buffer: int = 0
    pulse_library: list[dict[str, Any]] = field(default_factory=list)
    cmd_def: list[dict[str, Any]] = field(default_factory=list)
    meas_kernel: dict[str, Any] | None = None
    discriminator: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The seed's ``PulseDefaults`` JSON (frequencies in GHz)."""
        data: dict[str, Any] = {
            "qubit_freq_est": [hz / GHZ for hz in self.qubit_freq_est],
            "meas_freq_est": [hz / GHZ for hz in self.meas_freq_est],
            "buffer": self.buffer,
            "pulse_library": copy.deepcopy(self.pulse_library),
            "cmd_def": copy.deepcopy(self.cmd_def),
        }
        if self.meas_kernel is not None:
            data["meas_kernel"] = dict(self.meas_kernel)
        if self.discriminator is not None:
            data["discriminator"] = dict(self.discriminator)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PulseDefaults:
        """Build from ``to_dict()`` output, frequencies in GHz (unknown keys are ignored)."""
        return cls(
            qubit_freq_est=[float(x) * GHZ for x in data["qubit_freq_est"]],
            meas_freq_est=[float(x) * GHZ for x in data["meas_freq_est"]],
            buffer=int(data.get("buffer", 0)),
            pulse_library=list(data.get("pulse_library") or []),
            cmd_def=list(data.get("cmd_def") or []),
            meas_kernel=data.get("meas_kernel"),
            discriminator=data.get("discriminator"),
        )
