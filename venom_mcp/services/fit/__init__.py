"""Will it fit? Memory estimates from model metadata, before anything is downloaded or loaded.

* `shape.py`: what a source says of a model (layers, heads, weights) in one shape;
* `sources.py`: reading it from the Hub (Range requests of a GGUF head, config.json), Ollama or installed files;
* `estimate.py`: the formulas and the placement (gpu, gpu_partial, cpu, no) against the free memory;
* `memory.py`: the free RAM and VRAM now (psutil, NVML), or an injected probe.

`FitService.check` answers the `check_fit` tool; `FitService.gate` is what install and activation ask first: `no` is
refused unless forced, `cpu` and `gpu_partial` come back as a warning, and a model whose metadata cannot be read is
allowed with a note (an estimate that cannot be made is never a `no`). An install reads nothing beyond its plan: it
uses what check_fit read of the same repo (kept here), the files already in MODELS_CACHE_DIR, or else the weights'
sizes alone (a lower bound, so never a false `no`); activation reads the installed files, so it is always exact.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from ...adapters import runtimes as table
from ...config import Settings
from ...errors import Conflict, InvalidArgument, NotFound, Unreachable, VenomError
from ...records import Fit, ModelMetadata
from ..manifest import ollama_name
from . import sources
from .cluster import ClusterSource, check_cluster
from .estimate import GB, RAM_RESERVE, Options, Placement, place
from .memory import Memory, MemoryProbe, probe_memory
from .shape import ModelShape

if TYPE_CHECKING:
    from ...adapters.huggingface import HubAdapter, HubPlan
    from ...adapters.ollama import OllamaAdapter
    from ...adapters.ollama_registry import OllamaRegistryAdapter
    from ..registry import ModelRegistry

log = logging.getLogger(__name__)
MIN_CONTEXT = 256
MAX_REMEMBERED = 256
Key = TypeVar("Key")
LLAMA_CPP_PYTHON_CONTEXT = 2048  # llama_cpp.server's --n_ctx default
LLAMA_SERVER_CONTEXT = 4096  # llama-server's --ctx-size default


def _option(command: str, *names: str) -> str | None:
    """The value of one of `names` in a start command (`--n_ctx 4096`, `-c 4096`, `--ctx-size=4096`)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


class FitService:
    cluster: ClusterSource | None = None  # the `ray` runtime's nodes and replica options (fit/cluster.py)

    def __init__(self, settings: Settings, *, hub: HubAdapter, ollama: OllamaAdapter,
                 ollama_registry: OllamaRegistryAdapter, registry: ModelRegistry,
                 probe: MemoryProbe | None = None) -> None:
        self.settings = settings
        self.hub = hub
        self.ollama = ollama
        self.ollama_registry = ollama_registry
        self.registry = registry
        self.probe = probe or probe_memory
        # Hub metadata check_fit read, by (repo, quantization, GGUF?): an install right after it is checked exactly
        # without reading the file's head again.
        self._read: dict[tuple[str, str | None, bool], sources.Found] = {}
        self._installed_read: dict[tuple[str, str | None, str], sources.Found] = {}

    # ---- the tool ----------------------------------------------------------------------------------

    async def check(self, name: str, provider: str | None = None, runtime: str | None = None,
                    context_length: int | None = None, *, plan: HubPlan | None = None) -> Fit:
        if runtime is not None and table.spec(runtime).kind == "cluster" and self.cluster is not None:
            return await check_cluster(self, self.cluster, name, provider, context_length)
        if runtime is not None and not table.spec(runtime).local:
            raise InvalidArgument(f"{runtime} is a cloud runtime: nothing runs in this machine's memory; give ollama, "
                                  "vllm or llamacpp")
        found = await self._find(name, provider, runtime, plan)
        if found.shape.weights is None and not found.shape.kv_known:
            raise NotFound(f"no memory facts for {name} ({found.shape.source}): "
                           + "; ".join(found.shape.notes or ["nothing to estimate from"]))
        options = self._options(found.runtime, found.shape, context_length)
        memory = await self.probe()
        placement = place(found.shape, options, memory)
        fit = self._record(name, found, options, memory, placement)
        if placement.verdict == "no":
            fit.suggestions = self._suggestions(found, options, memory)
        return fit

    # ---- what install and activation ask first -----------------------------------------------------

    async def gate(self, name: str, provider: str, runtime: str | None, *, force: bool, doing: str,
                   plan: HubPlan | None = None) -> str | None:
        """Refuse a `no` (unless forced); a warning for `cpu` and `gpu_partial`; a note when it cannot be told."""
        try:
            fit = await self.check(name, provider, runtime, plan=plan)
        except VenomError as exc:
            log.info("no fit check for %s: %s", name, exc)
            return f"note: memory fit not checked ({str(exc).splitlines()[0]})"
        except Exception as exc:  # a metadata source that answers garbage must never block an install
            log.warning("fit check of %s failed", name, exc_info=True)
            return f"note: memory fit not checked ({type(exc).__name__})"
        if fit.verdict == "no":
            if force:
                return f"warning: force=true, {doing} although it will not fit ({_needs(fit)})"
            raise Conflict(refusal(fit, doing))
        if fit.verdict == "cpu":
            return f"warning: it will run on the CPU only ({_needs(fit)})"
        if fit.verdict == "gpu_partial":
            return f"warning: only {fit.gpu_layers} layers fit on the GPU, the rest runs on the CPU ({_needs(fit)})"
        return None

    async def ollama_download_size(self, name: str) -> int | None:
        """The bytes an Ollama pull of `name` downloads (every layer of its registry manifest); None when the
        registry cannot tell (unreachable, unknown name)."""
        try:
            manifest = await self.ollama_registry.manifest(ollama_name(name))
        except VenomError as exc:
            log.info("no download size for %s: %s", name, exc)
            return None
        return sum(layer.size for layer in manifest.layers)

    # ---- finding the metadata ----------------------------------------------------------------------

    async def _find(self, name: str, provider: str | None, runtime: str | None,
                    plan: HubPlan | None) -> sources.Found:
        installed = self._installed(name)
        if installed is not None and (runtime is None or runtime == installed.runtime):
            return await self._from_installed(installed)
        if provider is None:
            provider = "huggingface" if "/" in name and not name.startswith(("hf.co/", "library/")) else "ollama"
        if provider == "ollama":
            if runtime not in (None, "ollama"):
                raise InvalidArgument(f"Ollama models run on runtime 'ollama' only, not {runtime!r}")
            return await self._from_ollama(ollama_name(name))
        if runtime == "ollama":
            raise InvalidArgument("Hugging Face models run on vllm or llamacpp; for Ollama name it hf.co/org/repo")
        repo, _, quant = name.partition(":")
        if repo.count("/") != 1:
            raise InvalidArgument(f"{name!r} is not a Hugging Face repo id; write it as org/repo (or org/repo:Q4_K_M)")
        if plan is not None:  # an install: what check_fit read before, else no request beyond the plan's
            known = self._read.get((repo, plan.quantization, plan.gguf))
            if known is not None:
                return known
            return await asyncio.to_thread(sources.from_plan, plan, self.settings.models_cache_dir)
        found = await sources.from_hub(self.hub, repo, quant or None, runtime)
        _remember(self._read, (repo, found.shape.quantization, found.runtime != "vllm"), found)
        return found

    def _installed(self, name: str) -> ModelMetadata | None:
        try:
            return self.registry.find(name)
        except VenomError:  # not installed, or an unreadable manifest: look elsewhere
            return None

    async def _from_installed(self, entry: ModelMetadata) -> sources.Found:
        """An installed model's facts do not change until it is installed again (a new digest or install time):
        read once, not at every check_fit or activation (an Ollama /api/show, a GGUF header)."""
        key = (entry.name, entry.sha256, str(entry.installed_at))
        if (known := self._installed_read.get(key)) is not None:
            return known
        if entry.provider == "ollama":
            found = await self._from_ollama(entry.name, entry)
        elif not entry.local_path:
            raise NotFound(f"{entry.name} has no local files recorded")
        else:
            found = await sources.from_local(entry.local_path, entry.runtime, entry.name.partition(":")[2] or None)
        _remember(self._installed_read, key, found)
        return found

    async def _from_ollama(self, name: str, entry: ModelMetadata | None = None) -> sources.Found:
        """A pulled model from Ollama's /api/show; one Ollama does not hold (or while it is down) from the
        registry, or for `hf.co/` names from the Hub."""
        if name.startswith("hf.co/") and entry is None:  # a Hub GGUF repo pulled through Ollama
            repo, _, quant = name.removeprefix("hf.co/").partition(":")
            return await sources.from_hub(self.hub, repo, None if quant in ("", "latest") else quant, "ollama")
        try:
            show = await self.ollama.show(name)
            size = int(entry.size_gb * GB) if entry is not None and entry.size_gb else None
            if size is None:
                tag = next((t for t in await self.ollama.tags() if t.get("name") == name), None)
                size = int(tag["size"]) if tag and tag.get("size") else None
        except (NotFound, Unreachable) as exc:
            if name.startswith("hf.co/"):
                raise
            log.info("%s not read from Ollama (%s): asking the registry", name, exc)
            return await sources.from_ollama_registry(self.ollama_registry, name)
        return sources.from_ollama_show(show, size)

    # ---- how the runtime will run it ---------------------------------------------------------------

    def _options(self, runtime: str, shape: ModelShape, context_length: int | None) -> Options:
        trained = shape.trained_context
        if runtime == "ollama":
            tuning = self.settings.ollama_tuning()
            context = context_length or min(int(tuning["OLLAMA_CONTEXT_LENGTH"]), trained or 1 << 30)
            flash = tuning.get("OLLAMA_FLASH_ATTENTION", "").strip().lower() in ("1", "true", "yes", "on")
            kv = tuning.get("OLLAMA_KV_CACHE_TYPE", "f16") if flash else "f16"
            return Options("ollama", context, kv, flash, int(tuning.get("OLLAMA_NUM_PARALLEL", "1") or 1))
        command = table.command(self.settings, runtime)
        if runtime == "vllm":
            given = _number(_option(command, "--max-model-len"))
            utilization = _number(_option(command, "--gpu-memory-utilization")) or 0.9
            return Options("vllm", context_length or int(given or trained or 4096),
                           gpu_memory_utilization=utilization)
        python_server = "llama_cpp.server" in command
        given = _number(_option(command, "--n_ctx", "-c", "--ctx-size"))
        default = LLAMA_CPP_PYTHON_CONTEXT if python_server else LLAMA_SERVER_CONTEXT
        context = context_length or int(given or 0) or default
        if not given and not context_length and trained:
            context = min(context, trained)
        flash_value = (_option(command, "--flash_attn") if python_server else
                       _option(command, "-fa", "--flash-attn"))
        flash = (flash_value or "").lower() in ("true", "1", "on") if python_server else \
            (flash_value or "auto").lower() not in ("off", "false", "0")
        kv = (_option(command, "--type_k", "-ctk", "--cache-type-k") or "f16").lower()
        return Options("llamacpp", context, kv if kv in ("f16", "q8_0", "q4_0", "bf16", "f32") else "f16", flash)

    # ---- the answer --------------------------------------------------------------------------------

    def _record(self, name: str, found: sources.Found, options: Options, memory: Memory,
                placement: Placement) -> Fit:
        shape = found.shape
        notes = [*shape.notes, *placement.notes]
        if shape.weights is None:
            notes.append("the weights' size is unknown: only the KV cache and overhead are counted")
        if options.runtime == "ollama" and options.kv_type != "f16":
            notes.append(f"KV cache {options.kv_type} (the Ollama profile's OLLAMA_KV_CACHE_TYPE, with flash "
                         "attention on)")
        if options.parallel > 1:
            notes.append(f"{options.parallel} parallel slots, each with the full context (OLLAMA_NUM_PARALLEL)")
        if memory.gpus > 1:
            notes.append(f"{memory.gpus} GPUs: their free VRAM is counted together (layers are split between them)")
        if shape.trained_context and options.context > shape.trained_context:
            notes.append(f"the context {options.context} is past the {shape.trained_context} tokens it was "
                         "trained for")
        return Fit(
            verdict=placement.verdict,  # type: ignore[arg-type]
            required_gb=_gb(placement.required), weights_gb=_gb(placement.weights),
            kv_cache_gb=_gb(placement.kv_cache), overhead_gb=_gb(placement.overhead),
            context_length=options.context,
            vram_free_gb=_gb(memory.vram_free) if memory.vram_free is not None else None,
            ram_free_gb=_gb(memory.ram_free), gpu_layers=placement.gpu_layers if placement.verdict != "no" else 0,
            notes=notes, model_name=name, runtime=options.runtime, quantization=shape.quantization,
            source=shape.source,
        )

    def _suggestions(self, found: sources.Found, options: Options, memory: Memory) -> list[str]:
        """What would fit instead: a shorter context, a smaller quantization of the same repo."""
        out: list[str] = []
        shape = found.shape
        if shape.kv_known and options.context > MIN_CONTEXT:
            low, high = MIN_CONTEXT, options.context
            if place(shape, replace(options, context=low), memory).verdict != "no":
                while high - low > MIN_CONTEXT:
                    middle = (low + high) // 2 // MIN_CONTEXT * MIN_CONTEXT
                    if place(shape, replace(options, context=middle), memory).verdict != "no":
                        low = middle
                    else:
                        high = middle
                verdict = place(shape, replace(options, context=low), memory).verdict
                out.append(f"context_length={low} ({verdict})")
        current = found.quantizations.get(shape.quantization or "", shape.weights or 0)
        if shape.weights and current:
            fitting = []
            for quant, size in sorted(found.quantizations.items(), key=lambda item: -item[1]):
                if size >= current:
                    continue
                smaller = _scaled(shape, size / current)
                verdict = place(smaller, options, memory).verdict
                if verdict != "no":
                    fitting.append(f"quantization {quant} ({_size(size / GB)}, {verdict})")
            out += fitting[:3]
        return out


def _scaled(shape: ModelShape, ratio: float) -> ModelShape:
    return replace(shape, weights=int((shape.weights or 0) * ratio), embd_bytes=int(shape.embd_bytes * ratio),
                   layer_bytes=[int(b * ratio) for b in shape.layer_bytes], notes=[])


def _gb(value: float | None) -> float:
    return round((value or 0) / GB, 6)


def _size(gb: float) -> str:
    return f"{gb:.2f} GB" if gb >= 1 else f"{gb:.3f} GB" if gb >= 0.01 else f"{gb * 1000:.1f} MB"


def _needs(fit: Fit) -> str:
    vram = f"{_size(fit.vram_free_gb)} VRAM and " if fit.vram_free_gb is not None else "no GPU, "
    usable = max(fit.ram_free_gb - RAM_RESERVE / GB, 0)
    return (f"needs {_size(fit.required_gb)} at {fit.context_length} tokens; {vram}{_size(fit.ram_free_gb)} RAM free "
            f"({_size(usable)} of it usable)")


def _remember(store: dict[Key, sources.Found], key: Key, found: sources.Found) -> None:
    """Keep what was read, in a store that starts over once it holds MAX_REMEMBERED (no unbounded growth)."""
    if len(store) >= MAX_REMEMBERED:
        store.clear()
    store[key] = found


def refusal(fit: Fit, doing: str) -> str:
    parts = f"weights {_size(fit.weights_gb)}, KV cache {_size(fit.kv_cache_gb)}, overhead {_size(fit.overhead_gb)}"
    fits = "; what would fit: " + ", ".join(fit.suggestions) if fit.suggestions else ""
    return (f"{fit.model_name} will not fit on {fit.runtime}: it {_needs(fit)} ({parts}){fits}. "
            f"check_fit gives the details; {doing} anyway with force=true")


__all__ = ["FitService", "Memory", "MemoryProbe", "refusal"]
