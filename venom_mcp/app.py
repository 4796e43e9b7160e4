"""Composition root: builds Settings, adapters and services once, and closes what they opened.

Each part is imported where it is first built: a server answers initialize and tools/list before any service is
needed, and importing them all costs a noticeable part of its cold start (bench/startup.py)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import httpx

from .config import Settings

if TYPE_CHECKING:
    from .adapters.huggingface import HubAdapter, HubDownloads
    from .adapters.ollama import OllamaAdapter
    from .adapters.openai_compat import OpenAIClients
    from .cache import TTLCache
    from .records import RequestRecord
    from .services.alerts import Alerts, Probes
    from .services.catalog import CatalogService
    from .services.chat import ChatService
    from .services.fit import FitService
    from .services.governance import Governance
    from .services.mcp_import import McpImporter
    from .services.model_config import ModelConfigService
    from .services.operations import Operations
    from .services.registry import ModelRegistry
    from .services.runtime_state import RequestGates, RuntimeState
    from .services.runtimes import RuntimeController
    from .services.runtimes.ray import RayRuntime
    from .services.translation import TranslationService

USER_AGENT = "venom-mcp/0.1 (+https://github.com/venom-mcp)"


class App:
    def __init__(self, settings: Settings | None = None, *, alert_probes: Probes | None = None) -> None:
        self.settings = settings or Settings()
        self._alert_probes = alert_probes  # what the alert watcher reads instead of the machine (tests)

    @cached_property
    def http(self) -> httpx.AsyncClient:
        # No auth here: the only token for outside HTTP (HF_TOKEN) goes through huggingface_hub, to HF_ENDPOINT.
        from .adapters.stale_connections import ResendingClient

        return ResendingClient(
            timeout=self.settings.http_timeout_seconds,
            follow_redirects=True,
            headers={"User-Agent": USER_AGENT},
        )

    @cached_property
    def cache(self) -> TTLCache:
        from .cache import TTLCache

        return TTLCache(self.settings.path("cache"), self.settings.cache_ttl_seconds)

    @cached_property
    def hub(self) -> HubAdapter:
        from .adapters.huggingface import HubAdapter

        token = self.settings.hf_token.get_secret_value() if self.settings.hf_token else None
        return HubAdapter(self.settings.hf_endpoint, token, self.settings.http_timeout_seconds)

    @cached_property
    def catalog(self) -> CatalogService:
        from .adapters.news import NewsAdapter
        from .adapters.ollama_library import OllamaLibraryAdapter
        from .services.catalog import CatalogService

        library = OllamaLibraryAdapter(self.settings.ollama_library_url, self.http)
        news = NewsAdapter(self.hub, self.http, self.settings.http_timeout_seconds)
        return CatalogService(self.cache, self.hub, library, news)

    @cached_property
    def ollama(self) -> OllamaAdapter:
        from .adapters.ollama import OllamaAdapter

        return OllamaAdapter(self.settings.ollama_host, self.http)

    @cached_property
    def operations(self) -> Operations:
        from .services.operations import Operations

        return Operations(self.settings.path("operations.json"))

    @cached_property
    def downloads(self) -> HubDownloads:
        from .adapters.huggingface import HubDownloads

        return HubDownloads(self.hub, self.settings.models_cache_dir)

    @cached_property
    def runtime_state(self) -> RuntimeState:
        from .services.runtime_state import RuntimeState

        return RuntimeState(self.settings.path("runtime.json"))

    @cached_property
    def gates(self) -> RequestGates:
        from .services.runtime_state import RequestGates

        return RequestGates()

    @cached_property
    def registry(self) -> ModelRegistry:
        from .services.registry import ModelRegistry

        registry = ModelRegistry(
            self.settings, ollama=self.ollama, downloads=self.downloads, operations=self.operations,
            http=self.http, catalog=self.catalog, state=self.runtime_state,
        )
        registry.activator = lambda name, runtime: self.runtimes.activate(name, runtime)
        registry.fit_gate = lambda name, provider, runtime, force, plan: self.fit.gate(
            name, provider, runtime, force=force, doing="install", plan=plan)
        registry.ollama_download_size = lambda name: self.fit.ollama_download_size(name)
        return registry

    @cached_property
    def runtimes(self) -> RuntimeController:
        from .adapters.processes import ProcessSupervisor
        from .services.runtimes import RuntimeController
        from .services.runtimes.health import Health

        supervisor = ProcessSupervisor(self.settings.path("run"), self.settings.path("logs"))
        health = Health(self.settings, self.runtime_state, self.ollama, self.http, supervisor, self.governance.mask)
        controller = RuntimeController(health, self.registry, self.operations, self.gates, self.openai_clients,
                                       self.ray)
        controller.fit_gate = lambda name, provider, runtime, force: self.fit.gate(
            name, provider, runtime, force=force, doing="activate")
        return controller

    @cached_property
    def fit(self) -> FitService:
        from .adapters.ollama_registry import OllamaRegistryAdapter
        from .services.fit import FitService

        registry = OllamaRegistryAdapter(self.settings.ollama_registry_url, self.http)
        service = FitService(self.settings, hub=self.hub, ollama=self.ollama, ollama_registry=registry,
                             registry=self.registry)
        service.cluster = self.ray
        return service

    @cached_property
    def ray(self) -> RayRuntime:
        """The `ray` runtime: Serve applications on a cluster the user runs (RAY_ADDRESS)."""
        from .services.runtimes.ray import RayRuntime

        return RayRuntime(self.settings, self.runtime_state, self.http, self.openai_clients, self.governance.mask,
                          overrides=self.model_config.stored)

    @cached_property
    def chat(self) -> ChatService:
        from .services.chat import ChatService

        service = ChatService(self.settings, self.runtime_state, self.gates, self.registry, self.ollama,
                              self.openai_clients, self.governance)
        service.overrides = self.model_config.overrides
        return service

    @cached_property
    def model_config(self) -> ModelConfigService:
        from .services.model_config import ModelConfigService

        return ModelConfigService(self.settings, self.registry)

    @cached_property
    def translation(self) -> TranslationService:
        from .services.translation import TranslationService
        from .services.translation_text import TranslationCache

        cache = TranslationCache(self.settings.path("cache", "translations.json"))
        return TranslationService(self.chat, cache)

    @cached_property
    def mcp_import(self) -> McpImporter:
        from .services.mcp_import import McpImporter

        return McpImporter(self.settings)

    @cached_property
    def governance(self) -> Governance:
        from .services.governance import Governance

        governance = Governance(self.settings, self.settings.path("requests.json"))
        governance.listeners.append(lambda record: self.alerts.record_call(record))  # a failed call alerts at once
        return governance

    @cached_property
    def alerts(self) -> Alerts:
        """The alert watcher; the transports start it (`alerts.start()`), aclose stops it."""
        from .services.alerts import Alerts, machine_probes

        probes = machine_probes(self.settings, lambda: self.registry, lambda: self.runtimes).but(self._alert_probes)
        return Alerts(self.settings, self.settings.venom_home / "alerts.json", probes, calls=self._recent_calls)

    def _recent_calls(self) -> list[RequestRecord]:
        """The model calls the alert watcher judges (governance loads with the first round, not with the server)."""
        from .services.governance import HISTORY

        return self.governance.history(HISTORY)

    @cached_property
    def openai_clients(self) -> OpenAIClients:
        from .adapters.openai_compat import OpenAIClients

        return OpenAIClients(self.settings.llm_timeout_seconds)

    async def aclose(self) -> None:
        if "alerts" in self.__dict__:
            await self.alerts.aclose()
        if "operations" in self.__dict__:
            await self.operations.aclose()
        if "governance" in self.__dict__:
            self.governance.flush()
        if "openai_clients" in self.__dict__:
            await self.openai_clients.aclose()
        if "http" in self.__dict__:
            await self.http.aclose()
