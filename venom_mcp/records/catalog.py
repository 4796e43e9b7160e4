"""What the catalogs offer: models one can install, and the AI news (SPEC section 5)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .vocabulary import Provider, Record, Runtime, Timestamp


class GGUFQuantization(Record):
    """One quantization of a Hub GGUF repo, as its files on the Hub list it."""

    name: str = Field(description="The quantization as file names give it (Q4_K_M, IQ4_XS, BF16); install it "
                                  "as 'org/repo:NAME'.")
    size_gb: float = Field(description="Download size: all parts of a split file (-00001-of-0000N.gguf) together.")
    files: int = Field(description="How many files (parts) it is.")
    install_default: bool = Field(default=False, description="The one install_model takes when none is named, "
                                                             "in a repo of GGUF files only (size_gb of the row).")


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
    updated_at: Timestamp | None = None
    pipeline_tag: str | None = None
    parameter_count: int | None = Field(default=None, description="Number of parameters where the source gives it.")
    context_length: int | None = None
    capabilities: list[str] = Field(
        default_factory=list, description="Capabilities the source lists (tools, vision, thinking, embedding)."
    )
    sizes: list[str] = Field(default_factory=list, description="Parameter sizes offered as tags (Ollama: 8b, 70b).")
    quantizations: list[GGUFQuantization] = Field(
        default_factory=list, description="Hub GGUF repos: each quantization with its download size, smallest "
                                          "first; empty for other rows and where the Hub could not be asked.")
    installable: bool = Field(default=True, description="False when VENOM_RUNTIME_PROFILE does not allow its runtime.")
    install_note: str | None = Field(default=None, description="Why it cannot be installed here, and what would.")


class CatalogResult(Record):
    provider: Provider
    models: list[CatalogModel]
    count: int
    stale: bool = Field(description="True when the source failed and a cached or bundled answer is shown.")
    error: str | None = Field(description="Why the answer is stale; null when fresh.")
    fetched_at: Timestamp | None = Field(default=None, description="When the shown data was fetched.")


class NewsItem(Record):
    title: str
    url: str
    summary: str
    published_at: Timestamp | None
    authors: list[str]
    source: str
    llm_provider: str | None = Field(default=None, description="Who translated it (model_news with lang); else null.")
    llm_model: str | None = None


class NewsResult(Record):
    provider: Literal["huggingface"] = "huggingface"
    kind: Literal["blog", "papers"]
    items: list[NewsItem]
    count: int
    stale: bool
    error: str | None
    fetched_at: Timestamp | None = None
