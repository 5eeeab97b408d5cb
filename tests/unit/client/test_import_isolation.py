from __future__ import annotations

import subprocess
import sys

FORBIDDEN = (
    "openqx.server",
    "openqx.store",
    "openqx.devices",
    "openqx.execution",
    "qiskit_aer",
    "fastapi",
    "sqlalchemy",
)


def test_client_imports_no_server_dependencies():
    code = (
        "import sys, openqx.client, openqx.compat.ibmq\n"
        f"bad = [m for m in sys.modules if m.startswith({FORBIDDEN!r})]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
