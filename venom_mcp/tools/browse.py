"""Finding models: the catalogs, what is trending, the AI news."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..records import (
    CatalogResult,
    NewsResult,
)
from ..services.profile import mark_catalog
from .arguments import Month, Provider, Query, Refresh
from .meta import ToolBase, tool


class BrowseTools(ToolBase):
    @tool("Search the model catalogs", read_only=True, open_world=True)
    async def list_models(
        self,
        provider: Provider,
        query: Query = None,
        limit: Annotated[int, Field(strict=True, ge=1, le=100, description="How many models, 1..100.")] = 20,
        refresh: Refresh = False,
    ) -> CatalogResult:
        """Search or browse installable models on the Hugging Face Hub or in the Ollama library.

        Use this to find a model to install: each row gives the name to pass to install_model and the
        runtime that serves it. Without `query` it lists the most downloaded (Hub) or popular (Ollama)
        models. If the source is unreachable the last good answer is returned with stale=true and error set.
        """
        return mark_catalog(self.app.settings, await self.app.catalog.list_models(
            provider, query, limit, refresh=refresh))

    @tool("Trending models", read_only=True, open_world=True)
    async def trending_models(
        self,
        provider: Provider,
        limit: Annotated[int, Field(strict=True, ge=1, le=100, description="How many models, 1..100.")] = 12,
        refresh: Refresh = False,
    ) -> CatalogResult:
        """The models trending now on the Hugging Face Hub, or the most popular in the Ollama library.

        Use this when the user asks what is new or popular. Results are cached for VENOM_CACHE_TTL_SECONDS;
        stale=true means the source failed and cached (or bundled) data is shown.
        """
        return mark_catalog(self.app.settings, await self.app.catalog.trending(provider, limit, refresh=refresh))

    @tool("AI news from the Hub", read_only=True, open_world=True)
    async def model_news(
        self,
        kind: Annotated[
            Literal["blog", "papers"], Field(description="'blog' (Hub blog) or 'papers' (daily papers).")
        ] = "blog",
        limit: Annotated[int, Field(strict=True, ge=1, le=50, description="How many items, 1..50.")] = 5,
        month: Month = None,
        lang: Annotated[
            Literal["pl", "en", "de"] | None,
            Field(default=None, description="Translate titles and summaries into pl, en or de."),
        ] = None,
        refresh: Refresh = False,
    ) -> NewsResult:
        """Recent Hugging Face blog posts, or daily papers (optionally of one month, YYYY-MM).

        Use this for 'what is new in AI' questions. Summaries are plain text, trimmed at a word boundary.
        With `lang`, titles and summaries are translated through the active model; where that fails the
        original text stays and `error` says so.
        """
        if month is not None and kind != "papers":
            from ..errors import InvalidArgument

            raise InvalidArgument("month applies to kind='papers' only; drop month or set kind='papers'")
        news = await self.app.catalog.news(kind, limit, month, refresh=refresh)
        return await self.app.translation.translate_news(news, lang) if lang else news
