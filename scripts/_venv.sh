# Sourced by serve.sh and test.sh: make .venv (Python >= 3.11) and install venom-mcp into it, once per change.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
extras=${1:-}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "venom-mcp needs Python >= 3.11 (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed${extras:+-$extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  # A portable llama.cpp build: the same wheel (cached by pip) works on any x86-64 machine.
  CMAKE_ARGS=${CMAKE_ARGS:--DGGML_NATIVE=OFF} \
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}" >&2
  touch "$stamp"
fi
