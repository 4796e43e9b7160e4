"""ModelRegistry: the manifest, installs and removals as Operations, models found outside venom-mcp (in Ollama
or a Hugging Face cache), capabilities, the quota. Activation lives with the runtimes.

The method names of SPEC section 6 (`install_model`, `get_operation_status`, ...) are the ones the original
design documents use; the tools call the richer ones (`install`, `remove`, `activate`) that return records.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from ...adapters.huggingface import HubDownloads, HubPlan
from ...adapters.ollama import OllamaAdapter
from ...aio import SingleFlight
from ...config import Settings
from ...errors import Conflict, InvalidArgument, NotFound, QuotaExceeded, UpstreamError
from ...records import (
    ActiveRuntime,
    Capabilities,
    CatalogResult,
    InstalledModel,
    InstalledModels,
    ModelMetadata,
    Operation,
    Provider,
    Runtime,
    check_model_name,
)
from .. import capabilities as caps
from .. import profile
from ..catalog import CatalogService
from ..confirm import Confirm, large_install
from ..manifest import Manifest, ollama_name
from ..operations import Operations, Progress
from ..runtime_state import RuntimeState
from . import discovery, jobs

Activator = Callable[[str, str], Awaitable[ActiveRuntime]]
# services/fit: asked before an install starts; raises to refuse, or returns a warning for the operation's message.
FitGate = Callable[[str, Provider, Runtime | None, bool, HubPlan | None], Awaitable[str | None]]
# The bytes an Ollama pull of a model would download (its registry manifest), None when that cannot be told.
DownloadSize = Callable[[str], Awaitable[int | None]]

GB = 1e9


def split_hf_name(name: str) -> tuple[str, str | None]:
    """'org/repo:Q4_K_M' -> ('org/repo', 'Q4_K_M')."""
    repo, _, quant = name.partition(":")
    if repo.count("/") != 1:
        raise InvalidArgument(f"{name!r} is not a Hugging Face repo id; write it as org/repo (or org/repo:Q4_K_M)")
    return repo, quant or None


def valid_runtimes(provider: str, gguf: bool | None) -> list[str]:
    """SPEC section 3: Ollama models on ollama; Hub models on vllm, or on llamacpp when installed as GGUF, and on
    ray (a cluster: vLLM or llama.cpp replicas) in both cases."""
    if provider == "ollama":
        return ["ollama"]
    return ["llamacpp", "ray"] if gguf else ["vllm", "ray"]


class ModelRegistry:
    """The installed models. Built by the App from its shared parts; `venom_mcp.ModelRegistry(models_dir=...)`
    (venom_mcp/api.py) is the Python API of SPEC section 6 that builds them itself."""

    def __init__(
        self,
        settings: Settings,
        *,
        ollama: OllamaAdapter,
        downloads: HubDownloads,
        operations: Operations,
        http: httpx.AsyncClient,
        state: RuntimeState,
        catalog: CatalogService | None = None,
    ) -> None:
        self.settings = settings
        self.http = http
        self.ollama = ollama
        self.downloads = downloads
        self.operations = operations
        self._catalog = catalog
        self.state = state
        self.store = Manifest(settings.path("manifest.json"))
        # Capabilities of models found outside venom-mcp, by the name asked for: chat looks them up on every
        # request, and finding such a model costs an Ollama request or a scan of the cache folder.
        self._external: dict[str, Capabilities] = {}
        # Callers asking for the same install or removal at once share one decision, and so one operation,
        # however the awaits of the checks interleave.
        self._deciding = SingleFlight()
        # activate_model of SPEC section 6: the runtimes do it; the App hands their activation in.
        self.activator: Activator | None = None
        # "Will it fit?" before an install (services/fit); the App hands it in.
        self.fit_gate: FitGate | None = None
        # How big an Ollama pull is before it starts (a large one is confirmed first); the App hands it in.
        self.ollama_download_size: DownloadSize | None = None

    # ---- SPEC section 6 names ---------------------------------------------------------------------

    async def list_available_models(
        self, provider: Provider, query: str | None = None, limit: int = 20
    ) -> CatalogResult:
        if self._catalog is None:
            raise InvalidArgument("this registry was built without a catalog")
        return await self._catalog.list_models(provider, query, limit)

    async def install_model(self, model_name: str, provider: Provider, runtime: Runtime | None = None,
                            force: bool = False) -> str:
        return (await self.install(model_name, provider, runtime, force)).operation_id

    def get_operation_status(self, operation_id: str) -> Operation:
        return self.operations.get(operation_id)

    async def remove_model(self, name: str, provider: Provider | None = None) -> str:
        return (await self.remove(name, provider)).operation_id

    async def activate_model(self, name: str, runtime: Runtime) -> ActiveRuntime:
        if self.activator is None:
            raise InvalidArgument("this registry was built without runtimes to activate on")
        return await self.activator(name, runtime)

    async def get_model_capabilities(self, name: str) -> Capabilities:
        return await self.capabilities(name)

    def check_storage_quota(self, additional_size_gb: float) -> bool:
        return self.disk_usage_gb() + additional_size_gb <= self.settings.models_max_disk_gb

    # ---- manifest (services/manifest.py owns the file) ---------------------------------------------

    def manifest(self) -> list[ModelMetadata]:
        return self.store.read()

    def find(self, name: str) -> ModelMetadata:
        return self.store.find(name)

    def disk_usage_gb(self) -> float:
        return self.store.disk_usage_gb()

    def _record(self, entry: ModelMetadata) -> None:
        self.store.record(entry)

    # ---- listing ----------------------------------------------------------------------------------

    async def installed(self, runtime: Runtime | None = None) -> InstalledModels:
        active_runtime, active_name = self.state.active()
        rows: list[InstalledModel] = []
        entries = self.manifest()  # first: an unreadable manifest adds its warning
        warnings = list(self.store.warnings)
        if runtime in (None, "ollama"):
            try:
                entries += await discovery.ollama_external(self.ollama, {m.name for m in entries})
            except UpstreamError as exc:
                warnings.append(f"models held by Ollama are not listed: {exc}")
        if runtime in (None, "vllm", "llamacpp"):
            entries += await discovery.cache_external(self.settings, {m.name for m in entries})
        for model in entries:
            row = InstalledModel.model_validate(model.model_dump())
            row.active = model.name == active_name and model.runtime == active_runtime
            row.activatable = profile.allowed(self.settings, model.runtime)
            rows.append(row)
        if runtime is not None:
            rows = [r for r in rows if r.runtime == runtime]
        return InstalledModels(models=rows, count=len(rows), warnings=warnings)

    async def resolve(self, name: str) -> ModelMetadata:
        """An installed model by name: the manifest first, then what Ollama holds, then the Hugging Face cache."""
        try:
            return self.find(name)
        except NotFound:
            pass
        known = {m.name for m in self.manifest()}
        candidates = [ollama_name(name)] if "/" not in name or name.startswith(("hf.co/", "library/")) else []
        unreachable: UpstreamError | None = None
        if candidates or ":" in name:
            try:
                for entry in await discovery.ollama_external(self.ollama, known):
                    if entry.name in (name, *candidates):
                        return entry
            except UpstreamError as exc:
                unreachable = exc
        if "/" in name:
            cached = await discovery.cache_external(self.settings, known)
            exact = [m for m in cached if m.name == name]
            same_repo = [m for m in cached if m.name.split(":")[0] == name]
            if exact or len(same_repo) == 1:
                return (exact or same_repo)[0]
        if unreachable is not None:  # it may be in Ollama: we cannot say it is not installed
            raise UpstreamError(f"{name!r} is not in the manifest, and Ollama could not be asked: {unreachable}")
        raise NotFound(f"{name!r} is not installed; installed_models lists what is, install_model adds one")

    async def capabilities(self, name: str) -> Capabilities:
        """What the model supports: recorded at install, or read once (and kept) for a model found outside."""
        if name in self._external:
            return self._external[name]
        entry = await self.resolve(name)
        if entry.status == "installed":
            return entry.capabilities
        if entry.provider == "ollama":
            detected = caps.detect_ollama(await self.ollama.show(entry.name))
        else:
            path = Path(entry.local_path or "")
            snapshot = path.parent if entry.runtime == "llamacpp" else path  # a GGUF entry points at its file
            detected = await asyncio.to_thread(caps.detect_huggingface, snapshot, entry.name.partition(":")[2] or None)
        self._external[name] = found = caps.merge(entry.name, detected)
        return found

    @staticmethod
    def valid_runtimes(entry: ModelMetadata) -> list[str]:
        return valid_runtimes(entry.provider, entry.runtime == "llamacpp")

    # ---- install ----------------------------------------------------------------------------------

    async def install(self, name: str, provider: Provider, runtime: Runtime | None = None,
                      force: bool = False, confirm: Confirm | None = None) -> Operation:
        """Start an install, or return the one already running for this model (every concurrent caller gets the
        same operation). A model that will not fit in memory (services/fit) is refused unless `force`; one that
        downloads more than LARGE_INSTALL_GB is confirmed first through `confirm` (None: the caller confirmed)."""
        check_model_name(name)
        if provider == "ollama":
            name = ollama_name(name)
            if runtime not in (None, "ollama"):
                raise InvalidArgument(f"Ollama models run on runtime 'ollama' only, not {runtime!r}")
            profile.require(self.settings, "ollama", "installs (ollama pull)")
        decide = functools.partial(self._start_install, name, provider, runtime, force, confirm)
        return await self._deciding.run(("install", provider, name, runtime), decide)

    async def _start_install(self, name: str, provider: Provider, runtime: Runtime | None,
                             force: bool = False, confirm: Confirm | None = None) -> Operation:
        if running := self.operations.running(name, provider, "install"):
            return running
        if provider == "ollama":
            if done := self._installed_by(name, provider):
                return done
            await self.ollama.version()  # unreachable Ollama: a clear error now, and nothing written
            note = await self._fit(name, "ollama", "ollama", force, None)
            if confirm is not None and self.ollama_download_size is not None:
                await large_install(confirm, name, await self.ollama_download_size(name), "Ollama")
            if running := self.operations.running(name, provider, "install"):
                return running
            return self.operations.start(name, "ollama", "ollama", "install",
                                         lambda p: jobs.noted(self._pull(name, p), note))
        return await self._install_from_hub(name, runtime, force, confirm)

    async def _fit(self, name: str, provider: Provider, runtime: Runtime | None, force: bool,
                   plan: HubPlan | None) -> str | None:
        return await self.fit_gate(name, provider, runtime, force, plan) if self.fit_gate else None

    async def _install_from_hub(self, name: str, runtime: Runtime | None, force: bool = False,
                                confirm: Confirm | None = None) -> Operation:
        repo, quant = split_hf_name(name)
        if runtime not in (None, "vllm", "llamacpp", "ray"):
            raise InvalidArgument(f"Hugging Face models run on 'vllm' or, for GGUF repos, 'llamacpp' (and on 'ray'); "
                                  f"not {runtime!r}")
        cluster = runtime == "ray"  # installed as usual, then served by the cluster's vLLM or llama.cpp replicas
        runtime = None if cluster else runtime
        for candidate in ["ray"] if cluster else [runtime] if runtime else ["vllm", "llamacpp", "ray"]:
            if profile.allowed(self.settings, candidate):
                break
        else:  # no runtime this profile allows could serve it: refuse before asking the Hub
            profile.require(self.settings, "ray" if cluster else runtime or "vllm", "Hugging Face installs")
        plan = await self.downloads.plan(repo, runtime=runtime, quant=quant)
        chosen: Runtime = "llamacpp" if plan.gguf else "vllm"
        if not profile.allowed(self.settings, "ray"):
            profile.require(self.settings, chosen, f"installs of {'GGUF' if plan.gguf else 'safetensors'} models")
        entry_name = f"{repo}:{plan.quantization}" if plan.gguf and plan.quantization else repo
        # 'org/repo' and 'org/repo:Q4_K_M' can name the same install: no await between this check and the start.
        if running := self.operations.running(entry_name, "huggingface", "install") or self._installed_by(
            entry_name, "huggingface"
        ):
            return running
        needed_gb = (plan.total_bytes - plan.cached_bytes) / GB
        if not self.check_storage_quota(needed_gb):
            raise QuotaExceeded(
                f"{entry_name} needs {needed_gb:.2f} GB but {self.disk_usage_gb():.2f} of "
                f"{self.settings.models_max_disk_gb:g} GB are used: remove a model or raise MODELS_MAX_DISK_GB"
            )
        note = await self._fit(entry_name, "huggingface", chosen, force, plan)
        await large_install(confirm, entry_name, plan.total_bytes - plan.cached_bytes, "MODELS_CACHE_DIR")
        if running := self.operations.running(entry_name, "huggingface", "install") or self._installed_by(
            entry_name, "huggingface"
        ):  # asked again while the fit was checked (or the user was asked)
            return running
        return self.operations.start(
            entry_name, "huggingface", chosen, "install",
            lambda p: jobs.noted(jobs.download(
                self.downloads, self.store, entry_name, plan, chosen, p), note),
        )

    def _installed_by(self, name: str, provider: Provider) -> Operation | None:
        """For a model venom-mcp installed already, the operation that did it: asking again (a late one of many
        concurrent callers, an agent that retries) gets that answer, not a second pull. Remove it to re-install."""
        if not any(m.name == name and m.provider == provider for m in self.store.read()):
            return None
        return self.operations.installed_by(name, provider)

    def _pull(self, name: str, progress: Progress) -> Awaitable[str]:
        return jobs.pull(self.ollama, self.store, self.check_storage_quota, self.settings.models_max_disk_gb, name,
                         progress)

    # ---- remove -----------------------------------------------------------------------------------

    async def remove(self, name: str, provider: Provider | None = None, confirm: Confirm | None = None) -> Operation:
        """Start a removal, or return the one already running for this model. Once every check passed, `confirm`
        (None: the caller confirmed) asks the user first."""
        check_model_name(name)
        return await self._deciding.run(("remove", name, provider), lambda: self._remove(name, provider, confirm))

    async def _remove(self, name: str, provider: Provider | None, confirm: Confirm | None = None) -> Operation:
        try:
            entry: ModelMetadata | None = self.find(name)
        except NotFound:
            entry = None
        if entry is None and provider in (None, "ollama"):
            tags = {t["name"] for t in await self.ollama.tags()}
            if ollama_name(name) not in tags:
                raise NotFound(f"{name!r} is not installed; installed_models lists what is")
        resolved = entry.name if entry else ollama_name(name)
        kind: Provider = entry.provider if entry else "ollama"
        if provider is not None and provider != kind:
            raise NotFound(f"{name!r} is installed from {kind}, not {provider}")
        active_runtime, active_name = self.state.active()
        if active_name == resolved:
            raise Conflict(
                f"{resolved} is the active model of {active_runtime}: activate another model first "
                "(activate_model), then remove this one"
            )
        if running := self.operations.running(resolved, kind, "remove"):
            return running
        if confirm is not None:
            size = f" ({entry.size_gb:g} GB)" if entry and entry.size_gb else ""
            await confirm(f"Remove {resolved}{size}, installed from {kind}? Its files are deleted.")
            if running := self.operations.running(resolved, kind, "remove"):  # asked again while the user read
                return running
        runtime: Runtime = entry.runtime if entry else "ollama"
        return self.operations.start(resolved, kind, runtime, "remove",
                                     lambda p: jobs.delete(self.ollama, self.downloads, self.store, resolved, kind))

__all__ = ["ModelRegistry"]
