#!/usr/bin/env bash
# Set up (first run only) and start the MCP server; arguments go to `venom-mcp serve`.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" ""
exec .venv/bin/venom-mcp serve "$@"
