"""Installed models, operations, capabilities and fit estimates (SPEC section 5)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .cluster import NodeFit
from .vocabulary import Provider, Record, Runtime, Timestamp

# ---- installed models, operations, capabilities (SPEC section 5) -----------------------------------

OperationStatus = Literal["pending", "in_progress", "completed", "failed", "cancelled", "interrupted"]
ACTIVE_STATUSES = ("pending", "in_progress")


class Capabilities(Record):
    supports_system_role: bool = True
    supports_function_calling: bool = False
    supports_vision: bool = False
    supports_thinking: bool = Field(default=False, description="The model can reason before it answers (think).")
    allowed_roles: list[str] = Field(default_factory=lambda: ["system", "user", "assistant"])
    prompt_template: str | None = None
    max_context_length: int | None = None
    quantization: str | None = None
    parameter_size: str | None = None
    source: Literal["detected", "manifest", "default"] = "default"
    sources: dict[str, Literal["detected", "manifest", "default"]] = Field(
        default_factory=dict,
        description="Where each of supports_system_role, supports_function_calling, supports_vision, "
                    "supports_thinking and max_context_length came from: detected, the family manifest, or the "
                    "default (what a model that says nothing gets).",
    )


class InstalledModel(Record):
    name: str
    provider: Provider
    runtime: Runtime
    display_name: str
    size_gb: float | None = None
    status: Literal["installed", "external"] = Field(
        default="installed", description="external: found in a runtime or cache, not installed by venom-mcp.")
    active: bool = False
    activatable: bool = Field(default=True, description="False when VENOM_RUNTIME_PROFILE does not allow its runtime.")
    local_path: str | None = None
    sha256: str | None = None
    installed_at: Timestamp | None = None


class ModelMetadata(InstalledModel):
    """A manifest entry: an InstalledModel plus what we know of its capabilities and files."""

    capabilities: Capabilities = Field(default_factory=Capabilities)
    revision: str | None = None
    files: dict[str, str] = Field(default_factory=dict, description="Weight file -> sha256.")


class InstalledModels(Record):
    models: list[InstalledModel]
    count: int
    warnings: list[str] = Field(default_factory=list)


OperationType = Literal["install", "remove", "activate"]


class Operation(Record):
    operation_id: str
    model_name: str
    provider: Provider | Literal["openai", "google"] = Field(
        description="Where the model comes from: huggingface, ollama, or the cloud runtime for a cloud switch.")
    runtime: Runtime
    operation_type: OperationType
    status: OperationStatus = "pending"
    progress: float = Field(default=0, ge=0, le=100)
    message: str | None = None
    error: str | None = None
    bytes_done: int | None = None
    bytes_total: int | None = None
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None

    @property
    def done(self) -> bool:
        return self.status not in ACTIVE_STATUSES


class OperationList(Record):
    operations: list[Operation]
    count: int


class ModelCapabilities(Record):
    model_name: str
    capabilities: Capabilities


class Fit(Record):
    """Will it fit? A memory estimate from the model's metadata against the memory free now (GB = 10^9 bytes)."""

    verdict: Literal["gpu", "gpu_partial", "cpu", "no"] = Field(description="gpu: every layer in free VRAM; "
        "gpu_partial: some layers on the GPU, the rest on the CPU; cpu: RAM only; no: it does not fit.")  # fmt: skip
    required_gb: float = Field(description="weights_gb + kv_cache_gb + overhead_gb.")
    weights_gb: float
    kv_cache_gb: float = Field(description="The KV cache at context_length (0 where the metadata has no heads).")
    overhead_gb: float = Field(description="Compute buffer, plus the CUDA context where a GPU is used.")
    context_length: int
    vram_free_gb: float | None = Field(description="Free VRAM over the NVIDIA GPUs now; null without one.")
    ram_free_gb: float
    gpu_layers: int = Field(description="Layers on the GPU (all of them for gpu, 0 for cpu and no).")
    notes: list[str] = Field(default_factory=list)
    model_name: str | None = None
    runtime: str | None = None
    quantization: str | None = None
    source: str | None = Field(default=None, description="Where the metadata came from.")
    suggestions: list[str] = Field(default_factory=list, description="What would fit, when this does not.")
    nodes: list[NodeFit] | None = Field(default=None, description="runtime ray: for each node of the cluster, whether "
                                                                   "a replica fits there now.")
