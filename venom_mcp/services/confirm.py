"""Confirmations before a change the user may regret: the services decide when one is needed (after every check
passed, before anything is done), the face decides how to ask (MCP elicitation, or `confirm=true`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

# Asks the user `question`; returns when they agreed, raises (a VenomError saying what was not done) otherwise.
Confirm = Callable[[str], Awaitable[None]]
# Installs that download more than this ask first (the dashboard warns at the same size).
LARGE_INSTALL_GB = 20.0
GB = 1e9


async def large_install(confirm: Confirm | None, name: str, download_bytes: int | None, where: str) -> None:
    """Ask before an install that downloads more than LARGE_INSTALL_GB; an unknown size asks nothing (the quota
    check still applies)."""
    if confirm is None or download_bytes is None or download_bytes <= LARGE_INSTALL_GB * GB:
        return
    await confirm(f"Install {name}? It downloads {download_bytes / GB:.1f} GB into {where}.")


__all__ = ["GB", "LARGE_INSTALL_GB", "Confirm", "large_install"]
