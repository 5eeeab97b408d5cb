"""How long one command-line run takes, start to exit, against a real embedded server
(uvicorn on loopback, SQLite, the inline executor): ``openqx admin users`` (through
``openqx.connection``, no qiskit) and ``openqx jobs --limit 1`` (through the provider, which
imports qiskit), beside a bare ``python -c pass`` and ``python -c "import qiskit"`` in the
same run, as medians over fresh interpreters.

    python benchmarks/cli_start.py [--runs 9]

Each run is a new process, as a person or a script starts it; the first run of each command
is not counted (it fills the operating system's file cache).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from openqx.embedded import EmbeddedServer  # noqa: E402


def _median_seconds(command: list[str], env: dict[str, str], runs: int) -> float:
    """The median wall time of ``command`` over ``runs`` fresh processes (after one unmeasured
    run); a failing run stops the benchmark."""
    times = []
    for attempt in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        if attempt:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="measured runs of each command")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        EmbeddedServer(data_dir=Path(folder) / "data", executor="inline") as server,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENQX_")}
        env.update(
            OPENQX_URL=server.url,
            OPENQX_TOKEN=server.token,
            OPENQX_CONFIG_DIR=str(Path(folder) / "config"),
        )
        python = [sys.executable]
        cli = [*python, "-m", "openqx.cli.main"]
        rows = [
            ("python -c pass", [*python, "-c", "pass"]),
            ("python -c 'import qiskit'", [*python, "-c", "import qiskit"]),
            ("openqx admin users", [*cli, "admin", "users"]),
            ("openqx jobs --limit 1", [*cli, "jobs", "--limit", "1"]),
        ]
        print(f"{'command':<28} {'median':>10}   ({args.runs} runs each)")
        for label, command in rows:
            seconds = _median_seconds(command, env, args.runs)
            print(f"{label:<28} {seconds * 1000:>8.0f} ms")


if __name__ == "__main__":
    main()
