"""Fidelity of the emulated devices: qiskit-experiments fits against the calibration the jobs
ran with.

Through a real openqx server (``EmbeddedServer``: uvicorn on loopback, SQLite, in-process
executor) this runs, on one qubit of each device, ``T1``, ``T2Ramsey``, ``T2Hahn``,
``StandardRB``, ``LocalReadoutError`` and ``ReadoutAngle`` (``meas_level=1``), plus a
``T2Ramsey`` with a detuned ``qubit_lo_freq``, and compares each fitted value with the snapshot
recorded on its jobs (``job.properties()``): within 10 % or two standard errors.

Two dates of the calibration history: the devices' clock (their histories' ``clock``, in the
server process) is set to each date in turn, so the server records and runs the snapshot in
force then; the table shows both, and whether the fitted T1 moved the way the snapshot did.

    python benchmarks/fidelity.py [--devices fake_manila fake_kolkata fake_sherbrooke fake_torino]
                                  [--shots 1000] [--days 10 40] [--markdown]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from openqx.client import OpenQX
from openqx.client.backend import OpenQXBackend
from openqx.core.clock import ManualClock
from openqx.devices.catalog import default_catalog
from openqx.embedded import EmbeddedServer
from openqx.execution import readout

DEFAULT_DEVICES = ("fake_manila", "fake_kolkata", "fake_sherbrooke", "fake_torino")
LO_DETUNING_HZ = 300e3


@dataclass
class Row:
    device: str
    date: str
    quantity: str
    expected: float
    fitted: float
    stderr: float

    @property
    def ok(self) -> bool:
        if not math.isfinite(self.fitted):
            return False
        diff = abs(self.fitted - self.expected)
        return diff <= 0.10 * abs(self.expected) or diff <= 2 * self.stderr


def _value(data: Any, name: str) -> tuple[float, float]:
    frame = data.analysis_results(name, dataframe=True)
    value = frame.iloc[0]["value"]
    nominal = float(getattr(value, "nominal_value", value))
    stderr = float(getattr(value, "std_dev", 0.0) or 0.0)
    return nominal, stderr if math.isfinite(stderr) else 0.0


def _job_properties(backend: OpenQXBackend, since: datetime) -> Any:
    """The snapshot the server ran the jobs since ``since`` with (one for all of them)."""
    jobs = backend.jobs(limit=None, start_datetime=since)
    properties = [job.properties() for job in jobs]
    snapshots = {p.last_update_date for p in properties if p is not None}
    if len(snapshots) != 1 or None in properties:
        raise RuntimeError(f"the jobs of one experiment ran with {len(snapshots)} snapshots")
    return properties[0]


def _qubit_param(props: Any, qubit: int, name: str) -> float:
    return float(props.qubit_property(qubit, name)[0])


def _gate_error(props: Any, gate: str, qubit: int) -> float:
    return float(props.gate_error(gate, [qubit]))


def run_device(
    backend: OpenQXBackend, qubit: int, shots: int, label: str
) -> tuple[list[Row], float]:
    """Run every experiment on one qubit; return the rows and the fitted T1."""
    from qiskit_experiments.library import (
        T1,
        LocalReadoutError,
        ReadoutAngle,
        StandardRB,
        T2Hahn,
        T2Ramsey,
    )

    name = backend.name
    rows: list[Row] = []
    props = backend.properties(refresh=True)
    t1 = _qubit_param(props, qubit, "T1")
    t2 = _qubit_param(props, qubit, "T2")

    exp = T1((qubit,), delays=np.linspace(1e-6, 4 * t1, 16))
    since = datetime.now(UTC)
    data = exp.run(backend, shots=shots).block_for_results()
    ran = _job_properties(backend, since)
    fitted_t1, se = _value(data, "T1")
    rows.append(Row(name, label, "T1 (s)", _qubit_param(ran, qubit, "T1"), fitted_t1, se))

    osc = 4 / t2
    ramsey = T2Ramsey((qubit,), delays=np.linspace(0, 2.5 * t2, 40), osc_freq=osc)
    since = datetime.now(UTC)
    data = ramsey.run(backend, shots=shots).block_for_results()
    ran = _job_properties(backend, since)
    value, se = _value(data, "T2star")
    rows.append(Row(name, label, "T2* Ramsey (s)", _qubit_param(ran, qubit, "T2"), value, se))

    frequencies = [p for p in ran.qubits[qubit] if p.name == "frequency"]
    if qubit == 0 and frequencies:  # recent Heron snapshots publish no qubit frequency
        frequency = _qubit_param(ran, qubit, "frequency")  # Hz
        detuned = T2Ramsey((qubit,), delays=np.linspace(0, 12e-6, 40), osc_freq=0.0)
        detuned.set_run_options(qubit_lo_freq=[frequency - LO_DETUNING_HZ])
        since = datetime.now(UTC)
        # backend_run: qiskit-experiments' sampler path does not forward LO run options.
        data = detuned.run(backend, shots=shots, backend_run=True).block_for_results()
        value, se = _value(data, "Frequency")
        rows.append(Row(name, label, "Ramsey fringe, LO −300 kHz (Hz)", LO_DETUNING_HZ, value, se))

    hahn = T2Hahn((qubit,), delays=np.linspace(1e-6, 2 * t2, 16))
    since = datetime.now(UTC)
    data = hahn.run(backend, shots=shots).block_for_results()
    ran = _job_properties(backend, since)
    value, se = _value(data, "T2")
    rows.append(Row(name, label, "T2 Hahn (s)", _qubit_param(ran, qubit, "T2"), value, se))

    sx_error = _gate_error(props, "sx", qubit)
    length = int(min(max(0.3 / max(sx_error, 1e-5), 200), 2000))
    lengths = [1, length // 8, length // 4, length // 2, length]
    rb = StandardRB((qubit,), lengths=lengths, num_samples=6, seed=1)
    since = datetime.now(UTC)
    data = rb.run(backend, shots=min(shots, 400)).block_for_results()
    ran = _job_properties(backend, since)
    value, se = _value(data, "EPG_sx")
    rows.append(Row(name, label, "EPG sx (RB)", _gate_error(ran, "sx", qubit), value, se))

    local = LocalReadoutError((qubit,))
    since = datetime.now(UTC)
    data = local.run(backend, shots=20 * shots).block_for_results()
    ran = _job_properties(backend, since)
    mitigator = data.analysis_results("Local Readout Mitigator", dataframe=True).iloc[0]["value"]
    matrix = mitigator.assignment_matrix(qubit)
    n = 20 * shots
    for quantity, expected, fitted in (
        ("prob_meas1_prep0", _qubit_param(ran, qubit, "prob_meas1_prep0"), matrix[1, 0]),
        ("prob_meas0_prep1", _qubit_param(ran, qubit, "prob_meas0_prep1"), matrix[0, 1]),
    ):
        se = math.sqrt(max(fitted * (1 - fitted), 1e-12) / n)
        rows.append(Row(name, label, quantity, expected, float(fitted), se))

    angle = ReadoutAngle((qubit,))
    since = datetime.now(UTC)
    data = angle.run(backend, shots=shots, backend_run=True).block_for_results()
    ran = _job_properties(backend, since)
    model = readout.readout_model(
        ran.to_dict(), backend.configuration().to_dict(), {}, [qubit]
    ).qubits[qubit]
    m0, m1 = model.mean_iq(0), model.mean_iq(1)
    expected_angle = (math.atan2(m0.imag, m0.real) + math.atan2(m1.imag, m1.real)) / 2
    value, _ = _value(data, "readout_angle")
    spread = max(model.sigma0, model.sigma1) / math.sqrt(shots)
    rows.append(Row(name, label, "readout angle (rad)", expected_angle, value, 2 * spread))
    return rows, fitted_t1


def _set_date(names: Iterable[str], catalogs: Sequence[Any], days: float) -> str:
    label = ""
    for catalog in catalogs:
        for name in names:
            device = catalog.get(name)
            anchor = device.history.anchors[0].last_update_date
            when = anchor + timedelta(days=days)
            device.history.clock = ManualClock(when)
            label = f"anchor+{days:g} d"
    return label


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", nargs="+", default=list(DEFAULT_DEVICES))
    parser.add_argument("--qubit", type=int, default=0)
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--days", nargs=2, type=float, default=[10.0, 40.0])
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    drift: list[tuple[str, float, float, float, float]] = []
    started = time.perf_counter()
    with EmbeddedServer(executor="inline", workers=1) as server:
        provider = OpenQX.enable_account(server.token, url=server.url)
        service = getattr(server, "_service", None)
        catalogs = [default_catalog()]
        if service is not None and service.catalog is not catalogs[0]:
            catalogs.append(service.catalog)
        for name in args.devices:
            fits = []
            for days in args.days:
                label = _set_date([name], catalogs, days)
                backend = provider.get_backend(name)
                device_rows, fitted_t1 = run_device(backend, args.qubit, args.shots, label)
                rows.extend(device_rows)
                expected_t1 = device_rows[0].expected
                fits.append((expected_t1, fitted_t1))
                print(f"{name} {label}: done ({time.perf_counter() - started:.0f} s)", flush=True)
            (e_a, f_a), (e_b, f_b) = fits
            drift.append((name, e_a, e_b, f_a, f_b))
    _print(rows, drift, args.markdown)
    return 0 if all(row.ok for row in rows) else 1


def _print(rows: list[Row], drift: list[tuple[str, float, float, float, float]], md: bool) -> None:
    sep = " | " if md else "  "
    head = ["device", "date", "quantity", "snapshot", "fitted", "std err", "within"]
    if md:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
    else:
        print(sep.join(head))
    for r in rows:
        cells = [
            r.device,
            r.date,
            r.quantity,
            f"{r.expected:.4g}",
            f"{r.fitted:.4g}",
            f"{r.stderr:.2g}",
            "yes" if r.ok else "NO",
        ]
        print(("| " + sep.join(cells) + " |") if md else sep.join(cells))
    print()
    head = ["device", "T1 snapshot A → B (µs)", "T1 fitted A → B (µs)", "follows"]
    if md:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
    for name, e_a, e_b, f_a, f_b in drift:
        follows = (e_b - e_a) * (f_b - f_a) > 0 or abs(e_b - e_a) < 0.05 * e_a
        cells = [
            name,
            f"{e_a * 1e6:.1f} → {e_b * 1e6:.1f}",
            f"{f_a * 1e6:.1f} → {f_b * 1e6:.1f}",
            "yes" if follows else "NO",
        ]
        print(("| " + " | ".join(cells) + " |") if md else sep.join(cells))


if __name__ == "__main__":
    raise SystemExit(main())
