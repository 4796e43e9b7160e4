#!/usr/bin/env bash
# Set up (first run only) and run the whole test suite with the lint and type gates.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" test
# The dashboard's browser test drives Debian's Chromium (no browser download); here it must run, not skip.
if [ ! -x "${VENOM_CHROMIUM:-/usr/bin/chromium}" ] && command -v apt-get >/dev/null; then
  echo "== installing chromium (apt-get)" >&2
  SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium; } >&2
fi
export VENOM_REQUIRE_BROWSER=${VENOM_REQUIRE_BROWSER:-1}
# The MCP conformance suite and the Inspector CLI (tests/node/) come from npm, with the Node 22 they need.
if ! command -v npm >/dev/null && command -v apt-get >/dev/null; then
  echo "== installing npm (apt-get)" >&2
  SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm; } >&2
fi
export VENOM_REQUIRE_NODE_TOOLS=${VENOM_REQUIRE_NODE_TOOLS:-1}
echo "== node tools" && .venv/bin/python -m tests.node_tools
echo "== ruff" && .venv/bin/ruff check .
echo "== mypy" && .venv/bin/mypy
echo "== pytest" && exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
