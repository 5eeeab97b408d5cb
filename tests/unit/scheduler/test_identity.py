"""Dispatcher names: stable across restarts of a server, never shared by two live servers
on one data folder (the lock is per open file, so two claims in one process behave as two
servers would)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from openqx.scheduler.identity import claim_identity


def test_the_name_is_stable_across_restarts(tmp_path: Path) -> None:
    first = claim_identity(tmp_path)
    name = first.name
    first.close()
    again = claim_identity(tmp_path)
    assert again.name == name
    again.close()
    again.close()  # idempotent


def test_two_live_servers_on_one_folder_get_different_names(tmp_path: Path) -> None:
    first, second = claim_identity(tmp_path), claim_identity(tmp_path)
    try:
        assert second.name == f"{first.name}-2"
    finally:
        first.close()
        second.close()
    reused = claim_identity(tmp_path)
    assert reused.name == first.name
    reused.close()


def test_a_killed_server_leaves_its_name_free(tmp_path: Path) -> None:
    code = (
        "import os, signal, sys; from pathlib import Path; "
        "from openqx.scheduler.identity import claim_identity; "
        f"print(claim_identity(Path({str(tmp_path)!r})).name, flush=True); "
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert killed.returncode == -9
    held = claim_identity(tmp_path)
    assert held.name == killed.stdout.strip()
    held.close()
