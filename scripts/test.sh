#!/usr/bin/env bash
# Set up (first run only) and run the whole test suite with the lint and type gates.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" test
echo "== ruff" && .venv/bin/ruff check .
echo "== mypy" && .venv/bin/mypy
echo "== pytest" && exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
