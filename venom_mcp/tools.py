"""The tool catalog: one typed async function per tool of SPEC section 4, thin over the services.

The MCP server registers these methods as they are (FastMCP builds the input schema from the
signature and the outputSchema from the return type); the Semantic Kernel skills are generated from
the same catalog, so the two faces cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, Field

from .records import CatalogResult, NewsResult, ProviderName

if TYPE_CHECKING:
    from .app import App

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ToolMeta:
    title: str
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = False


def tool(title: str, **hints: bool) -> Callable[[F], F]:
    """Mark a catalog method as a tool, with its MCP annotations."""

    def mark(fn: F) -> F:
        fn.__venom_tool__ = ToolMeta(title=title, **hints)  # type: ignore[attr-defined]
        return fn

    return mark


def _month(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise ValueError(f"month must be YYYY-MM, for example 2025-12 (got {value!r})")
    return value


Provider = Annotated[
    ProviderName, Field(description="Where models come from: 'huggingface' (alias 'hf') or 'ollama'.")
]
Query = Annotated[
    str | None, Field(default=None, max_length=200, description="Words to search for; omit to browse.")
]
Month = Annotated[
    str | None,
    AfterValidator(_month),
    Field(default=None, description="Papers of one month, as YYYY-MM; omit for the latest."),
]


class ToolCatalog:
    def __init__(self, app: App) -> None:
        self.app = app

    def tools(self) -> Iterator[tuple[Callable[..., Any], ToolMeta]]:
        """The bound tool methods with their metadata, in declaration order."""
        for name in type(self).__dict__:
            meta = getattr(getattr(type(self), name), "__venom_tool__", None)
            if isinstance(meta, ToolMeta):
                yield getattr(self, name), meta

    @tool("Search the model catalogs", read_only=True, open_world=True)
    async def list_models(
        self,
        provider: Provider,
        query: Query = None,
        limit: Annotated[int, Field(ge=1, le=100, description="How many models, 1..100.")] = 20,
    ) -> CatalogResult:
        """Search or browse installable models on the Hugging Face Hub or in the Ollama library.

        Use this to find a model to install: each row gives the name to pass to install_model and the
        runtime that serves it. Without `query` it lists the most downloaded (Hub) or popular (Ollama)
        models. If the source is unreachable the last good answer is returned with stale=true and error set.
        """
        return await self.app.catalog.list_models(provider, query, limit)

    @tool("Trending models", read_only=True, open_world=True)
    async def trending_models(
        self,
        provider: Provider,
        limit: Annotated[int, Field(ge=1, le=100, description="How many models, 1..100.")] = 12,
    ) -> CatalogResult:
        """The models trending now on the Hugging Face Hub, or the most popular in the Ollama library.

        Use this when the user asks what is new or popular. Results are cached for VENOM_CACHE_TTL_SECONDS;
        stale=true means the source failed and cached (or bundled) data is shown.
        """
        return await self.app.catalog.trending(provider, limit)

    @tool("AI news from the Hub", read_only=True, open_world=True)
    async def model_news(
        self,
        kind: Annotated[
            Literal["blog", "papers"], Field(description="'blog' (Hub blog) or 'papers' (daily papers).")
        ] = "blog",
        limit: Annotated[int, Field(ge=1, le=50, description="How many items, 1..50.")] = 5,
        month: Month = None,
    ) -> NewsResult:
        """Recent Hugging Face blog posts, or daily papers (optionally of one month, YYYY-MM).

        Use this for 'what is new in AI' questions. Summaries are plain text, trimmed at a word boundary.
        """
        if month is not None and kind != "papers":
            from .errors import InvalidArgument

            raise InvalidArgument("month applies to kind='papers' only; drop month or set kind='papers'")
        return await self.app.catalog.news(kind, limit, month)
