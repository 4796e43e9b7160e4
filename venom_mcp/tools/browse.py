"""Finding models: the catalogs, what is trending, the AI news."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..records import (
    CatalogResult,
    NewsResult,
)
from .arguments import Month, Provider, Query, Refresh
from .meta import ToolBase, tool


class BrowseTools(ToolBase):
    @tool("Search the model catalogs", read_only=True, open_world=True)
    async def list_models(
        self,
        provider: Provider,
        query: Query = None,
        limit: Annotated[int, Field(strict=True, ge=1, le=100)] = 20,
        refresh: Refresh = False,
    ) -> CatalogResult:
        """Search the Hugging Face Hub or the Ollama library (no query: the most popular). Rows name the model
        for install_model and its runtime; stale=true: the source failed."""
        return self._marked(await self.app.catalog.list_models(provider, query, limit, refresh=refresh))

    @tool("Trending models", read_only=True, open_world=True)
    async def trending_models(
        self,
        provider: Provider,
        limit: Annotated[int, Field(strict=True, ge=1, le=100)] = 12,
        refresh: Refresh = False,
    ) -> CatalogResult:
        """What is trending on the Hugging Face Hub, or most popular in the Ollama library (cached; stale=true:
        the source failed)."""
        return self._marked(await self.app.catalog.trending(provider, limit, refresh=refresh))

    @tool("AI news from the Hub", read_only=True, open_world=True)
    async def model_news(
        self,
        kind: Annotated[
            Literal["blog", "papers"], Field()
        ] = "blog",
        limit: Annotated[int, Field(strict=True, ge=1, le=50)] = 5,
        month: Month = None,
        lang: Annotated[
            Literal["pl", "en", "de"] | None,
            Field(default=None, description="Translate into this language."),
        ] = None,
        refresh: Refresh = False,
    ) -> NewsResult:
        """Recent Hugging Face blog posts or daily papers, optionally translated (`lang`) by the active model."""
        if month is not None and kind != "papers":
            from ..errors import InvalidArgument

            raise InvalidArgument("month applies to kind='papers' only; drop month or set kind='papers'")
        news = await self.app.catalog.news(kind, limit, month, refresh=refresh)
        return await self.app.translation.translate_news(news, lang) if lang else news

    def _marked(self, result: CatalogResult) -> CatalogResult:
        """Rows whose runtime the profile does not allow, marked not installable (the profile module, and the
        runtime table under it, load with the first catalog answer rather than with the server)."""
        from ..services.profile import mark_catalog

        return mark_catalog(self.app.settings, result)
