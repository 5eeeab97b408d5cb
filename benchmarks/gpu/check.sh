#!/usr/bin/env bash
# The GPU check, on a GPU machine, after benchmarks/gpu/prepare.sh made .gpu/ here: install the
# carried wheels beside that machine's Python, show what Aer finds, run the GPU tests
# (tests/unit/execution/test_dask_gpu.py; the GPU one is skipped where no GPU runs) and the
# CPU/GPU benchmark (benchmarks/gpu/statevector.py). Its log goes to $OUT/gpu-check.log when
# OUT is set (the device tool's output folder).
#
#   bash benchmarks/gpu/check.sh              # PYTHON=... for another interpreter
set -uo pipefail
cd "$(dirname "$0")/../.."
python="${PYTHON:-python3}"
log="${OUT:-/tmp}/gpu-check.log"
site=/tmp/openqx-gpu-site
{
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$site" .gpu/wheels/*.whl || exit 1
    export PYTHONPATH="$site:$PWD"
    export LD_LIBRARY_PATH="$PWD/.gpu/stubs:$site/nvidia/cuda_runtime/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    nvidia-smi -L || echo "no nvidia-smi"
    "$python" -c "
from openqx.execution.aer_device import available_aer_devices, gpu_problem
import qiskit, qiskit_aer
print('qiskit', qiskit.__version__, 'aer', qiskit_aer.__version__, qiskit_aer.__file__)
print('devices', available_aer_devices(), 'problem', gpu_problem())
"
    "$python" -m pytest -q -p no:cacheprovider --noconftest -rs tests/unit/execution/test_dask_gpu.py
    echo "pytest exit status $?"
    "$python" benchmarks/gpu/statevector.py "$@"
} 2>&1 | tee "$log"
