"""Where a model's metadata comes from, without downloading its weights.

* Hub GGUF repos: the chosen quantization's file head, with HTTP Range requests (adapters/huggingface/ranges.py);
  the other quantizations' sizes from the repo's file list, for suggestions.
* Hub safetensors repos: `config.json`, and the weights from the Hub's safetensors parameter counts (else the files).
* Ollama: `/api/show` (`model_info`) of a pulled model; a model not pulled yet from the Ollama registry: its manifest
  (the layers' sizes) and the GGUF header at the head of its model layer, read with Range requests;
  `hf.co/org/repo:QUANT` names are Hub GGUF repos.
* Installed files: the head of the local GGUF file, or the snapshot's `config.json` and safetensors files.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...adapters.gguf import NotGGUF, Truncated, parse_header
from ...adapters.huggingface import HubAdapter, HubPlan, hub_files, quantization_sizes, select_files, weights_bytes
from ...adapters.huggingface.ranges import read_gguf_head, read_json
from ...adapters.ollama_registry import MEDIA_MODEL, MEDIA_PROJECTOR, OllamaRegistryAdapter
from ...adapters.upstream import hub_failure
from ...aio import run_blocking
from ...errors import InvalidArgument, NotFound
from .shape import ModelShape, from_gguf_header, from_gguf_metadata, from_hf_config

LOCAL_HEAD_MAX = 64 * 2**20


@dataclass
class Found:
    """A model's shape and what the estimate needs to know of where it runs."""

    shape: ModelShape
    runtime: str
    quantizations: dict[str, int] = field(default_factory=dict)  # GGUF repos: quantization -> bytes of its files


async def hub_info(hub: HubAdapter, repo_id: str) -> Any:
    def call() -> Any:
        try:
            return hub.api.model_info(repo_id, files_metadata=True)
        except Exception as exc:  # gated, unknown, refused, reset, 5xx: huggingface_hub's own errors
            raise hub_failure(exc, hub.endpoint, repo_id) from exc

    return await run_blocking(call, deadline=max(30.0, hub.timeout * 3), what=f"the Hub ({repo_id})")


async def from_hub(hub: HubAdapter, repo_id: str, quant: str | None, runtime: str | None) -> Found:
    """A Hub repo as an install would take it: GGUF (one quantization) for llama.cpp, else safetensors for vLLM."""
    info = await hub_info(hub, repo_id)
    paths = hub_files(info)
    has_gguf = any(p.endswith(".gguf") for p in paths)
    want_gguf = runtime in ("llamacpp", "ollama") or (runtime is None and has_gguf and (
        quant is not None or not any(p.endswith(".safetensors") for p in paths)))
    if want_gguf and not has_gguf:
        raise InvalidArgument(f"{repo_id} holds no GGUF files, so {runtime} cannot serve it; use runtime 'vllm'")
    files, chosen = select_files(paths, want_gguf=want_gguf, quant=quant)
    revision = str(info.sha) if info.sha else None
    if want_gguf:
        head = await read_gguf_head(hub, repo_id, files[0].path, revision)
        shape = from_gguf_header(head.header, sum(f.size for f in files),
                                 f"GGUF header of {files[0].path} ({head.bytes_read} bytes read with Range requests)")
        shape.quantization = chosen or shape.quantization
        return Found(shape, runtime or "llamacpp", quantization_sizes(paths))
    config = await read_json(hub, repo_id, "config.json", revision)
    parameters = info.safetensors.parameters if info.safetensors and info.safetensors.parameters else None
    weights = weights_bytes(parameters) if parameters else sum(f.size for f in files if f.is_weight)
    source = "config.json and the Hub's safetensors parameter counts" if parameters else \
        "config.json and the weight files' sizes"
    return Found(from_hf_config(config, weights, source), "vllm")


def from_plan(plan: HubPlan, cache_dir: Path) -> Found:
    """An install's plan, without another request: the files already in MODELS_CACHE_DIR (a GGUF file's head, a
    config.json), else only the weights' sizes the plan lists (the header is read by check_fit, or at activation)."""
    from huggingface_hub import try_to_load_from_cache

    runtime = "llamacpp" if plan.gguf else "vllm"
    weights = [f for f in plan.files if f.is_weight]
    size = sum(f.size for f in weights) or None

    def cached(path: str) -> Path | None:
        found = try_to_load_from_cache(plan.repo_id, path, cache_dir=cache_dir, revision=plan.revision)
        return Path(found) if isinstance(found, str) else None

    if plan.gguf and weights and (local := cached(weights[0].path)) is not None:
        shape = from_gguf_header(_read_local_head(local), size, f"GGUF header of {weights[0].path} (cached)")
    elif not plan.gguf and (config := cached("config.json")) is not None:
        shape = from_hf_config(json.loads(config.read_text(encoding="utf-8")), size, "config.json (cached) and the "
                               "weight files' sizes")
    else:
        shape = ModelShape(source="the weight files' sizes in the install plan", weights=size)
        shape.notes.append("only the weights are counted before the download: run check_fit first for the KV cache "
                           "and overhead (activation checks them from the installed files)")
    shape.quantization = plan.quantization or shape.quantization
    return Found(shape, runtime, dict(plan.quantizations))


def _read_local_head(path: Path) -> Any:
    size = 1 << 20
    with path.open("rb") as handle:
        while True:
            handle.seek(0)
            data = handle.read(size)
            try:
                return parse_header(data)
            except Truncated as short:
                if len(data) < size or size >= LOCAL_HEAD_MAX:
                    raise InvalidArgument(f"{path} ends inside its GGUF header") from short
                size = min(LOCAL_HEAD_MAX, max(short.needed + (1 << 16), 2 * size))
            except NotGGUF as exc:
                raise InvalidArgument(f"{path} is not a GGUF file ({exc})") from exc


async def from_local(local_path: str, runtime: str, quantization: str | None) -> Found:
    """An installed Hub model: its GGUF file's head, or its snapshot's config.json and safetensors files."""
    path = Path(local_path)

    def call() -> Found:
        if runtime == "llamacpp" and path.is_file():
            header = _read_local_head(path)
            shape = from_gguf_header(header, path.stat().st_size, f"GGUF header of {path.name} (installed)")
            shape.quantization = quantization or shape.quantization
            return Found(shape, runtime)
        folder = path if path.is_dir() else path.parent
        config_file = folder / "config.json"
        if not config_file.is_file():
            raise NotFound(f"no config.json in {folder}")
        config = json.loads(config_file.read_text(encoding="utf-8"))
        weights = sum(f.stat().st_size for f in folder.glob("*.safetensors"))
        return Found(from_hf_config(config, weights or None, "config.json and safetensors files (installed)"), runtime)

    return await asyncio.to_thread(call)


async def from_ollama_registry(registry: OllamaRegistryAdapter, name: str) -> Found:
    """A model not pulled yet: its registry manifest (the model layer's size is the GGUF file's) and the GGUF
    header at the head of that layer; a vision projector layer is loaded with it, so it counts with the weights."""
    manifest = await registry.manifest(name)
    model = manifest.layer(MEDIA_MODEL)
    if model is None:
        kinds = ", ".join(sorted({layer.media_type for layer in manifest.layers})) or "none"
        raise NotFound(f"the registry's manifest of {manifest.name} has no GGUF model layer (its layers: {kinds})")
    head = await registry.gguf_head(manifest, model)
    shape = from_gguf_header(head.header, model.size, f"Ollama registry: the manifest of {manifest.name} and its "
                             f"GGUF header ({head.bytes_read} bytes read with Range requests)")
    if (projector := manifest.layer(MEDIA_PROJECTOR)) is not None and shape.weights is not None:
        shape.weights += projector.size
        shape.notes.append(f"the vision projector ({projector.size / 1e9:.2f} GB) is counted with the weights")
    return Found(shape, "ollama")


def from_ollama_show(show: dict[str, Any], size: int | None) -> Found:
    """An installed Ollama model: `/api/show`'s model_info (GGUF keys) and the model's size from `/api/tags`."""
    info = show.get("model_info") or {}
    shape = from_gguf_metadata(info, "Ollama /api/show model_info")
    shape.weights = size
    details = show.get("details") or {}
    shape.quantization = details.get("quantization_level") if isinstance(details, dict) else None
    if size is None:
        shape.notes.append("Ollama gives no size for it: the weights are not counted")
    return Found(shape, "ollama")
