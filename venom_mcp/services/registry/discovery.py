"""Models venom-mcp did not install but can use: what Ollama holds, and Hugging Face snapshots already in a cache
folder. They are listed with status `external`; their capabilities are read on demand."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ...adapters import hf_cache
from ...adapters.ollama import OllamaAdapter
from ...config import Settings
from ...records import ModelMetadata

GB = 1e9


async def ollama_external(ollama: OllamaAdapter, known: set[str]) -> list[ModelMetadata]:
    """Models Ollama holds that venom-mcp did not pull."""
    return [ModelMetadata(
        name=tag["name"], provider="ollama", runtime="ollama", display_name=tag["name"],
        size_gb=round(tag.get("size", 0) / GB, 2), status="external", sha256=tag.get("digest"),
        installed_at=tag.get("modified_at"),
    ) for tag in await ollama.tags() if tag["name"] not in known]


async def cache_external(settings: Settings, known: set[str]) -> list[ModelMetadata]:
    """Hugging Face snapshots already in MODELS_CACHE_DIR (and, with VENOM_SCAN_HF_CACHE=1, the default
    huggingface_hub cache) that the manifest does not hold."""
    folders = [settings.models_cache_dir]
    if settings.scan_hf_cache:
        from huggingface_hub.constants import HF_HUB_CACHE

        folders.append(Path(HF_HUB_CACHE))
    found: list[ModelMetadata] = []
    for folder in folders:
        for cached in await asyncio.to_thread(hf_cache.scan_cache, folder):
            if cached.name in known or cached.repo_id in known:
                continue
            known.add(cached.name)
            found.append(ModelMetadata(
                name=cached.name, provider="huggingface", runtime="llamacpp" if cached.gguf else "vllm",
                display_name=cached.name.split("/", 1)[-1], size_gb=round(cached.size_bytes / GB, 3),
                status="external", local_path=str(cached.local_path), installed_at=cached.last_modified,
                revision=cached.revision,
            ))
    return found
