# Sourced by demo.sh and test.sh: make .venv (upgrading its pip once, when created) and install
# openqx with the extras named by $1 into it.
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
fi
.venv/bin/python -m pip install --quiet -e ".[$1]"
