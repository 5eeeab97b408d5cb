"""The client reaches the server only over HTTP: no import path to the service packages.

Two checks: every ``import`` written anywhere in ``openqx.client``/``openqx.compat`` (module
level, inside functions, under ``TYPE_CHECKING``, and ``importlib.import_module`` string
literals) names only ``openqx.client``, ``openqx.compat``, ``openqx.connection`` or
``openqx.core``, ``openqx.connection`` imports only itself and ``openqx.core``, and
``openqx.core`` imports only itself, so no chain of imports leads from the client to
``server``, ``store``, ``scheduler`` or ``execution``. And importing the client in a fresh
interpreter loads none of the server's dependencies, and ``openqx admin`` starts without qiskit.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import openqx

PACKAGE_ROOT = Path(openqx.__file__).parent
SERVICE_PACKAGES = ("openqx.server", "openqx.store", "openqx.scheduler", "openqx.execution")
CLIENT_MAY_IMPORT = ("openqx.client", "openqx.compat", "openqx.connection", "openqx.core")
CONNECTION_MAY_IMPORT = ("openqx.connection", "openqx.core")
CORE_MAY_IMPORT = ("openqx.core",)
IMPORT_FUNCTIONS = frozenset({"import_module", "__import__"})


def _module_name(path: Path, root: Path) -> str:
    """``openqx.client.job`` for ``<root>/client/job.py`` (``root`` is the ``openqx`` folder)."""
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str | None, level: int, importer: str, is_package: bool) -> str:
    """The absolute name of a (possibly relative) ``from`` import."""
    if level == 0:
        return module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def imported_names(path: Path, root: Path = PACKAGE_ROOT) -> list[tuple[int, str]]:
    """Every module name ``path`` imports, with its line: statements and string literals."""
    importer = _module_name(path, root)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module, node.level, importer, path.name == "__init__.py")
            found.append((node.lineno, base))
            # ``from openqx import server`` imports the submodule ``openqx.server``.
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call):
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else None
            name = function.id if isinstance(function, ast.Name) else name
            if name in IMPORT_FUNCTIONS and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.append((node.lineno, first.value))
    return found


def _is_within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in packages)


def _violations(folders: tuple[str, ...], allowed: tuple[str, ...]) -> list[str]:
    bad = []
    for folder in folders:
        for path in sorted((PACKAGE_ROOT / folder).rglob("*.py")):
            for line, name in imported_names(path):
                if _is_within(name, ("openqx",)) and name != "openqx":
                    if not _is_within(name, allowed):
                        bad.append(f"{path.relative_to(PACKAGE_ROOT.parent)}:{line}: {name}")
    return bad


def test_client_modules_import_only_client_and_core() -> None:
    assert _violations(("client", "compat"), CLIENT_MAY_IMPORT) == []


def test_connection_imports_only_itself_and_core() -> None:
    assert _violations(("connection",), CONNECTION_MAY_IMPORT) == []


def test_core_imports_only_core() -> None:
    assert _violations(("core",), CORE_MAY_IMPORT) == []


@pytest.mark.parametrize(
    "source",
    [
        "import openqx.server.app",
        "from openqx.store import jobs",
        "from openqx import scheduler",
        "def f():\n    from openqx.execution.runner import run_request",
        "import importlib\nimportlib.import_module('openqx.server.app')",
        "from importlib import import_module\nimport_module('openqx.embedded')",
        "from ..server import app",
    ],
)
def test_the_scan_sees_every_spelling(source: str, tmp_path: Path) -> None:
    """The checker itself: each spelling of an import into the service is found."""
    package = tmp_path / "openqx" / "client"
    package.mkdir(parents=True)
    module = package / "probe.py"
    module.write_text(source + "\n", encoding="utf-8")
    names = [name for _, name in imported_names(module, tmp_path / "openqx")]
    assert any(_is_within(name, (*SERVICE_PACKAGES, "openqx.embedded")) for name in names), names


def test_importing_the_client_loads_no_server_dependency() -> None:
    forbidden = (
        *SERVICE_PACKAGES,
        "openqx.devices",
        "openqx.embedded",
        "qiskit_aer",
        "fastapi",
        "sqlalchemy",
        "uvicorn",
    )
    code = (
        "import sys, openqx, openqx.client, openqx.compat.ibmq\n"
        f"bad = [m for m in sys.modules if m.startswith({forbidden!r})]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _loaded_after(statement: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules starting with ``prefixes`` that ``statement`` loads in a fresh interpreter."""
    code = (
        f"import sys\n{statement}\n"
        f"print(','.join(m for m in sys.modules if m.startswith({prefixes!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [name for name in out.stdout.strip().split(",") if name]


def test_the_admin_command_starts_without_qiskit() -> None:
    """``openqx admin`` and the connection it uses load no qiskit (which takes a second or
    more to import), while the provider does."""
    assert _loaded_after("import openqx.cli.admin, openqx.cli.main", ("qiskit",)) == []
    assert _loaded_after("import openqx.connection.session", ("qiskit", "openqx.client")) == []
    assert "qiskit" in _loaded_after("import openqx.client", ("qiskit",))
