"""`openqx demo`: the main job prints histograms and job ids."""

from __future__ import annotations

import re
import subprocess
import sys


def test_demo_runs_ghz_on_ideal_and_emulated_backends() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "openqx.cli.main", "demo", "--executor", "inline", "--shots", "300"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    assert re.search(r"ibmq_qasm_simulator: job [0-9a-f]{24} DONE", out), out
    assert re.search(r"fake_manila: job [0-9a-f]{24} DONE", out), out
    assert "00000" in out and "11111" in out and "█" in out
    assert "retrieved job" in out
