"""The tool catalog: one typed async function per tool of SPEC section 4, thin over the services.

The MCP server registers these methods as they are (FastMCP builds the input schema from the
signature and the outputSchema from the return type); the Semantic Kernel skills are generated from
the same catalog, so the two faces cannot drift apart.

Each group of tools is a class of its own module; ToolCatalog joins them in the order clients list them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .browse import BrowseTools
from .extend import ExtendTools
from .inference import InferenceTools
from .lifecycle import LifecycleTools
from .meta import ToolMeta, tool
from .observe import ObserveTools
from .runtimes import RuntimeTools

__all__ = ["ToolCatalog", "ToolMeta", "tool"]


class ToolCatalog(BrowseTools, LifecycleTools, RuntimeTools, InferenceTools, ObserveTools, ExtendTools):
    def tools(self) -> Iterator[tuple[Callable[..., Any], ToolMeta]]:
        """The bound tool methods with their metadata, group by group in declaration order."""
        seen: set[str] = set()
        for klass in type(self).__mro__:
            for name, member in vars(klass).items():
                meta = getattr(member, "__venom_tool__", None)
                if isinstance(meta, ToolMeta) and name not in seen:
                    seen.add(name)
                    yield getattr(self, name), meta
