"""Runtimes: the active one, each server's state, unloads, slash commands, resource usage (SPEC section 5)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .cluster import ClusterApplication, ClusterNode, ClusterReplica
from .vocabulary import Record, Runtime

Health = Literal["online", "degraded", "offline", "unknown", "switching"]


class ActiveRuntime(Record):
    """The active runtime. `online` means its server answered just now and lists the model under this name;
    `switching` means an activation is under way (its operation is in list_operations)."""

    provider: Runtime | None
    model: str | None
    endpoint: str | None
    service_type: Literal["local", "cluster", "cloud"] | None
    status: Health = "unknown"
    message: str | None = None


# ---- runtimes, chat, usage (SPEC sections 4 and 5) -------------------------------------------------

ServerName = Literal["ollama", "vllm", "llamacpp", "ray"]
ServerHealth = Health


class OllamaTuning(Record):
    """The Ollama profile in force (VENOM_OLLAMA_PROFILE with OLLAMA_* overrides) and where each value applies."""

    profile: str
    num_ctx: int = Field(description="Sent as options.num_ctx with every request (OLLAMA_CONTEXT_LENGTH).")
    keep_alive: str = Field(description="Sent as keep_alive with every request (OLLAMA_KEEP_ALIVE).")
    server_settings: dict[str, str] = Field(
        description="Values only `ollama serve` reads (flash attention, KV cache type, parallelism, queue).")
    server_settings_applied: bool = Field(
        description="True when venom-mcp starts this Ollama (process or unit) and so applies server_settings.")
    note: str


class ServerStatus(Record):
    name: ServerName
    status: ServerHealth
    endpoint: str
    pid: int | None = None
    model: str | None = Field(default=None, description="The model venom-mcp configured for this server.")
    served_model_name: str | None = Field(default=None, description="What the server itself says it serves.")
    memory_mb: float | None = Field(default=None, description="Resident memory of the whole process tree.")
    uptime_seconds: float | None = None
    managed_by: Literal["systemd", "process", "external", "none"] = Field(
        default="none", description="external: answers on the configured port, but venom-mcp did not start it.")
    command: str | None = Field(default=None, description="The command line of an external process on the port.")
    error: str | None = None
    tuning: OllamaTuning | None = None
    notes: list[str] = Field(default_factory=list)
    # A cluster runtime (ray) only: what it runs of ours, and where.
    applications: list[ClusterApplication] | None = Field(
        default=None, description="ray: the Serve applications venom-mcp deployed, with Serve's status.")
    replicas: list[ClusterReplica] | None = Field(
        default=None, description="ray: the replicas of those applications, with their node, state and pid.")
    nodes: list[ClusterNode] | None = Field(
        default=None, description="ray: the cluster's nodes with their free CPUs, GPUs and memory.")


class RuntimeStatus(Record):
    active: ActiveRuntime
    servers: list[ServerStatus]


class UnloadedModel(Record):
    runtime: ServerName
    model: str


class UnloadResult(Record):
    unloaded: list[UnloadedModel]
    errors: list[str]
    memory_freed_mb: float = Field(description="Memory the unloaded models held, as their runtimes reported it.")


class SlashResult(Record):
    command: str
    handled: bool
    message: str
    active: ActiveRuntime


class Usage(Record):
    disk_usage_gb: float
    disk_limit_gb: float
    disk_usage_percent: float
    disk_free_gb: float | None = Field(default=None, description="Free space on the disk of MODELS_CACHE_DIR.")
    cpu_usage_percent: float
    memory_total_gb: float
    memory_used_gb: float
    memory_usage_percent: float
    gpu_usage_percent: float | None = None
    vram_usage_mb: float | None = None
    vram_total_mb: float | None = None
    vram_usage_percent: float | None = None
    models_count: int
    cluster_nodes: list[ClusterNode] | None = Field(
        default=None, description="The Ray cluster's nodes (runtime ray, when the profile exposes it and it answers).")
