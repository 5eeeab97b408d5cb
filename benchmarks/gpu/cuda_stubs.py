"""Build stand-ins for the CUDA libraries that ``qiskit-aer-gpu``'s extension links but whose
functions a statevector job on the GPU never calls, so that a GPU machine with another CUDA
(the lent machine has CUDA 13; the wheel is built for CUDA 12) can load it with only
``libcudart.so.12`` added (the ``nvidia-cuda-runtime-cu12`` wheel, 3.5 MB, instead of about
1 GB of cuSOLVER, cuSPARSE, cuBLAS and cuQuantum).

Each stand-in has the library's soname and every function the extension imports from it,
under the same symbol version; each function returns 1 (an error status), so a job that did
reach one (Aer's ``cuStateVec_enable`` or the ``tensor_network`` method) fails instead of
running wrongly. ``libcudart.so.12`` itself is the real one.

    python benchmarks/gpu/cuda_stubs.py EXTENSION.so OUT_FOLDER

Needs ``objdump`` and ``gcc`` (x86-64); the stand-ins travel to the GPU machine as files.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REAL = frozenset({"libcudart.so.12"})
"""Libraries taken from their wheels, not stood in for."""
_CUDA_LIBRARY = re.compile(r"^lib(cu\w+|nv\w+)\.so\.\d+$")
_IMPORT = re.compile(r"\*UND\*\s+\S+\s+(?:\((?P<version>[^)]+)\)|Base)?\s*(?P<name>\S+)$")


def _needed(extension: Path) -> list[str]:
    """The CUDA libraries ``extension`` names as NEEDED."""
    dump = subprocess.run(
        ["objdump", "-p", str(extension)], capture_output=True, text=True, check=True
    ).stdout
    names = [line.split()[1] for line in dump.splitlines() if line.strip().startswith("NEEDED")]
    return [name for name in names if _CUDA_LIBRARY.match(name)]


def _imports(extension: Path) -> dict[str, set[str]]:
    """Symbol version (e.g. ``libcustatevec.so.0``) -> the functions imported under it."""
    dump = subprocess.run(
        ["objdump", "-T", str(extension)], capture_output=True, text=True, check=True
    ).stdout
    found: dict[str, set[str]] = defaultdict(set)
    for line in dump.splitlines():
        match = _IMPORT.search(line)
        if match and match["version"] and _CUDA_LIBRARY.match(match["version"]):
            found[match["version"]].add(match["name"])
    return found


def _stem(name: str) -> str:
    """``libcustatevec`` of ``libcustatevec.so.1`` or of the version ``libcustatevec.so.0``."""
    return name.split(".so.")[0]


def build(extension: Path, out: Path) -> list[Path]:
    """Write a stand-in for every CUDA library ``extension`` needs but ``REAL``; return them."""
    out.mkdir(parents=True, exist_ok=True)
    imports = _imports(extension)
    built = []
    for soname in _needed(extension):
        if soname in REAL:
            continue
        versions = {v: names for v, names in imports.items() if _stem(v) == _stem(soname)}
        with tempfile.TemporaryDirectory() as scratch:
            source = Path(scratch) / "stub.c"
            script = Path(scratch) / "versions.map"
            functions = sorted(name for names in versions.values() for name in names)
            source.write_text("".join(f"int {name}(void) {{ return 1; }}\n" for name in functions))
            nodes = [
                f"{version} {{ global: {' '.join(f'{n};' for n in sorted(names))} local: *; }};"
                for version, names in sorted(versions.items())
            ]
            script.write_text("\n".join(nodes) or "{ local: *; };")
            target = out / soname
            subprocess.run(
                [
                    "gcc",
                    "-shared",
                    "-fPIC",
                    "-o",
                    str(target),
                    str(source),
                    f"-Wl,-soname,{soname}",
                    f"-Wl,--version-script,{script}",
                ],
                check=True,
            )
        built.append(target)
    return built


def main() -> None:
    extension, out = Path(sys.argv[1]), Path(sys.argv[2])
    for path in build(extension, out):
        print(path)


if __name__ == "__main__":
    main()
