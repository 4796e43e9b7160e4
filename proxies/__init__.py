"""Generated proxies of imported MCP servers, loaded as Semantic Kernel plugins.

    from semantic_kernel import Kernel
    from proxies import load_plugins

    kernel = Kernel()
    for plugin in load_plugins():          # every proxy in $VENOM_HOME/proxies
        kernel.add_plugin(plugin)

`examples/echo_proxy.py` is a checked-in proxy generated from `tests/fakes/echo_mcp_server.py`; the tests
regenerate it and fail when it is stale. Generated code never lives in the installed package: imports write
their proxies under $VENOM_HOME/proxies.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from semantic_kernel.functions import KernelPlugin

EXAMPLES = Path(__file__).resolve().parent / "examples"


def proxy_files(directory: Path | None = None) -> list[Path]:
    if directory is None:
        from venom_mcp.config import Settings

        directory = Settings().path("proxies")
    return sorted(directory.glob("*_proxy.py"))


def load_module(path: Path) -> ModuleType:
    """Import one generated proxy module from its file (under a name that cannot clash with a real module)."""
    name = "venom_proxy_" + re.sub(r"\W", "_", path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_plugins(directory: Path | None = None) -> list[KernelPlugin]:
    plugins: list[Any] = [load_module(path).create_plugin() for path in proxy_files(directory)]
    return plugins
