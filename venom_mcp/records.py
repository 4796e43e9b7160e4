"""The records of SPEC section 5 and the vocabulary of section 3, in one place."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

Provider = Literal["huggingface", "ollama"]
Runtime = Literal["ollama", "vllm", "llamacpp", "openai", "google"]
LocalRuntime = Literal["ollama", "vllm", "llamacpp"]

PROVIDER_ALIASES = {"hf": "huggingface"}
RUNTIME_ALIASES = {"gpt": "openai", "gem": "google", "gemini": "google", "google-gemini": "google"}


def _normalize(aliases: dict[str, str]) -> BeforeValidator:
    def normalize(value: object) -> object:
        if isinstance(value, str):
            key = value.strip().lower()
            return aliases.get(key, key)
        return value

    return BeforeValidator(normalize)


# Input types that accept the aliases of SPEC section 3 and publish the canonical names as an enum.
ProviderName = Annotated[Provider, _normalize(PROVIDER_ALIASES)]
RuntimeName = Annotated[Runtime, _normalize(RUNTIME_ALIASES)]


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CatalogModel(Record):
    """A model one can install, as a catalog (the Hub or the Ollama library) describes it."""

    provider: Provider
    model_name: str = Field(description="Name to pass to install_model, e.g. 'org/repo' or 'llama3.1:latest'.")
    display_name: str
    size_gb: float | None = Field(default=None, description="Download size where known (estimated from weights).")
    runtime: Runtime = Field(description="The runtime that serves it: ollama, vllm, or llamacpp for GGUF repos.")
    tags: list[str] = Field(default_factory=list)
    downloads: int | None = None
    likes: int | None = None
    description: str | None = None
    url: str | None = None
    updated_at: datetime | None = None
    pipeline_tag: str | None = None
    parameter_count: int | None = Field(default=None, description="Number of parameters where the source gives it.")
    context_length: int | None = None
    capabilities: list[str] = Field(
        default_factory=list, description="Capabilities the source lists (tools, vision, thinking, embedding)."
    )
    sizes: list[str] = Field(default_factory=list, description="Parameter sizes offered as tags (Ollama: 8b, 70b).")


class CatalogResult(Record):
    provider: Provider
    models: list[CatalogModel]
    count: int
    stale: bool = Field(description="True when the source failed and a cached or bundled answer is shown.")
    error: str | None = Field(description="Why the answer is stale; null when fresh.")
    fetched_at: datetime | None = Field(default=None, description="When the shown data was fetched.")


class NewsItem(Record):
    title: str
    url: str
    summary: str
    published_at: datetime | None
    authors: list[str]
    source: str


class NewsResult(Record):
    provider: Literal["huggingface"] = "huggingface"
    kind: Literal["blog", "papers"]
    items: list[NewsItem]
    count: int
    stale: bool
    error: str | None
    fetched_at: datetime | None = None
