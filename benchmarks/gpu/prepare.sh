#!/usr/bin/env bash
# Prepare the GPU check (benchmarks/gpu/check.sh) here, for a GPU machine that can fetch
# nothing: the wheels openqx's worker path needs beyond that machine's own Python packages
# (qiskit-aer-gpu at this checkout's qiskit-aer release, qiskit and their pure-Python needs,
# dask and distributed for a GPU Dask worker, CUDA 12's runtime), and stand-ins for the CUDA libraries the Aer extension links but a
# statevector job never calls (benchmarks/gpu/cuda_stubs.py). Everything goes to .gpu/
# (ignored by git, about 40 MB), which the device call carries:
#
#   bash benchmarks/gpu/prepare.sh            # here; PYTHON_VERSION=3.11 for a local try
#   device run, carry [".gpu"]: bash benchmarks/gpu/check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
python_version="${PYTHON_VERSION:-3.12}"
version_of() { .venv/bin/python -c "from importlib.metadata import version; print(version('$1'))"; }
rm -rf .gpu
mkdir -p .gpu/wheels .gpu/stubs
packages=("qiskit-aer-gpu==$(version_of qiskit-aer)" nvidia-cuda-runtime-cu12)
for name in qiskit rustworkx stevedore dill pydantic pydantic_core annotated-types \
    typing-inspection dask distributed tornado partd locket zict tblib; do
    packages+=("$name==$(version_of "$name")")
done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$python_version" \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .gpu/wheels \
    "${packages[@]}" 2>&1 | grep -v "^WARNING: Location" || true
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
unzip -q -o .gpu/wheels/qiskit_aer_gpu-*.whl 'qiskit_aer/backends/controller_wrappers*' -d "$scratch"
python3 benchmarks/gpu/cuda_stubs.py "$scratch"/qiskit_aer/backends/controller_wrappers*.so .gpu/stubs
du -sh .gpu
