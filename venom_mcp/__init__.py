"""venom-mcp: manage local and cloud language models through one typed MCP tool surface.

Imports are lazy so that `import venom_mcp` (and `venom-mcp serve`) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import ModelRegistry
    from .app import App
    from .config import Settings
    from .records import Capabilities, CatalogModel, CatalogResult, InstalledModel, NewsItem, NewsResult, Operation
    from .services.slash import parse_slash_command

_EXPORTS = {
    "App": "app",
    "ModelRegistry": "api",
    "parse_slash_command": "services.slash",
    "Operation": "records",
    "Capabilities": "records",
    "InstalledModel": "records",
    "Settings": "config",
    "CatalogModel": "records",
    "CatalogResult": "records",
    "NewsItem": "records",
    "NewsResult": "records",
}

__all__ = [
    "App", "Capabilities", "CatalogModel", "CatalogResult", "InstalledModel", "ModelRegistry", "NewsItem",
    "NewsResult", "Operation", "Settings", "__version__", "parse_slash_command",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'venom_mcp' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
