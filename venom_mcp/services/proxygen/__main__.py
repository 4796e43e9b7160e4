"""`python -m venom_mcp.services.proxygen`, the same as `venom-mcp proxygen`."""

from .command import main

raise SystemExit(main())
