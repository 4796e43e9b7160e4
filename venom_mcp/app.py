"""Composition root: builds Settings, adapters and services once, and closes what they opened."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import httpx

from .adapters.huggingface import HubAdapter, HubDownloads
from .adapters.news import NewsAdapter
from .adapters.ollama import OllamaAdapter
from .adapters.ollama_library import OllamaLibraryAdapter
from .adapters.openai_compat import OpenAIClients
from .adapters.processes import ProcessSupervisor
from .cache import TTLCache
from .config import Settings
from .services.catalog import CatalogService
from .services.governance import Governance

if TYPE_CHECKING:
    from .services.mcp_import import McpImporter
from .services.operations import Operations
from .services.registry import ModelRegistry
from .services.runtimes import RuntimeController
from .services.translation import TranslationService
from .services.translation_text import TranslationCache

USER_AGENT = "venom-mcp/0.1 (+https://github.com/venom-mcp)"


class App:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    @cached_property
    def http(self) -> httpx.AsyncClient:
        # No auth here: the only token for outside HTTP (HF_TOKEN) goes through huggingface_hub, to HF_ENDPOINT.
        return httpx.AsyncClient(
            timeout=self.settings.http_timeout_seconds,
            follow_redirects=True,
            headers={"User-Agent": USER_AGENT},
        )

    @cached_property
    def cache(self) -> TTLCache:
        return TTLCache(self.settings.path("cache"), self.settings.cache_ttl_seconds)

    @cached_property
    def hub(self) -> HubAdapter:
        token = self.settings.hf_token.get_secret_value() if self.settings.hf_token else None
        return HubAdapter(self.settings.hf_endpoint, token, self.settings.http_timeout_seconds)

    @cached_property
    def catalog(self) -> CatalogService:
        library = OllamaLibraryAdapter(self.settings.ollama_library_url, self.http)
        news = NewsAdapter(self.hub, self.http, self.settings.http_timeout_seconds)
        return CatalogService(self.cache, self.hub, library, news)

    @cached_property
    def ollama(self) -> OllamaAdapter:
        return OllamaAdapter(self.settings.ollama_host, self.http)

    @cached_property
    def operations(self) -> Operations:
        return Operations(self.settings.path("operations.json"))

    @cached_property
    def downloads(self) -> HubDownloads:
        return HubDownloads(self.hub, self.settings.models_cache_dir)

    @cached_property
    def registry(self) -> ModelRegistry:
        registry = ModelRegistry(
            settings=self.settings, ollama=self.ollama, downloads=self.downloads, operations=self.operations,
            http=self.http, catalog=self.catalog,
        )
        registry.runtimes = RuntimeController(
            self.settings, registry, self.ollama, self.openai_clients,
            ProcessSupervisor(self.settings.path("run"), self.settings.path("logs")), self.governance,
        )
        return registry

    @property
    def runtimes(self) -> RuntimeController:
        controller = self.registry.runtimes
        assert controller is not None  # set in `registry`
        return controller

    @cached_property
    def translation(self) -> TranslationService:
        cache = TranslationCache(self.settings.path("cache", "translations.json"))
        return TranslationService(self.runtimes, cache)

    @cached_property
    def mcp_import(self) -> McpImporter:
        from .services.mcp_import import McpImporter

        return McpImporter(self.settings)

    @cached_property
    def governance(self) -> Governance:
        return Governance(self.settings, self.settings.path("requests.json"))

    @cached_property
    def openai_clients(self) -> OpenAIClients:
        return OpenAIClients(self.settings.llm_timeout_seconds)

    async def aclose(self) -> None:
        if "operations" in self.__dict__:
            await self.operations.aclose()
        if "governance" in self.__dict__:
            self.governance.flush()
        if "openai_clients" in self.__dict__:
            await self.openai_clients.aclose()
        if "http" in self.__dict__:
            await self.http.aclose()
