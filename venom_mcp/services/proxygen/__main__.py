"""`python -m venom_mcp.services.proxygen` (the command generated proxies name), the same as `venom-mcp proxygen`:
the command line itself lives with the other commands, in venom_mcp/cli."""

from ...cli.proxygen import main

raise SystemExit(main())
