"""The records of SPEC section 5 and the vocabulary of section 3, in one place."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from .conversation import ToolCall

Provider = Literal["huggingface", "ollama"]
Runtime = Literal["ollama", "vllm", "llamacpp", "openai", "google"]
LocalRuntime = Literal["ollama", "vllm", "llamacpp"]

PROVIDER_ALIASES = {"hf": "huggingface"}
RUNTIME_ALIASES = {"gpt": "openai", "gem": "google", "gemini": "google", "google-gemini": "google"}


def _accepting(canonical: tuple[str, ...], aliases: dict[str, str]) -> tuple[BeforeValidator, WithJsonSchema]:
    """Map each alias to its canonical name, exactly as spelled (no case folding: the schema is the contract), and
    publish every accepted spelling in the enum."""

    def normalize(value: object) -> object:
        return aliases.get(value, value) if isinstance(value, str) else value

    return BeforeValidator(normalize), WithJsonSchema({"type": "string", "enum": [*canonical, *aliases]})


# Input types that accept the aliases of SPEC section 3 and publish them in the enum next to the canonical names.
ProviderName = Annotated[Provider, *_accepting(get_args(Provider), PROVIDER_ALIASES)]
RuntimeName = Annotated[Runtime, *_accepting(get_args(Runtime), RUNTIME_ALIASES)]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# Every timestamp is sent with its offset (RFC 3339, what `format: date-time` promises); a source that gives a
# naive time (the Ollama library's page) means UTC.
Timestamp = Annotated[datetime, AfterValidator(_aware)]


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
    updated_at: Timestamp | None = None
    pipeline_tag: str | None = None
    parameter_count: int | None = Field(default=None, description="Number of parameters where the source gives it.")
    context_length: int | None = None
    capabilities: list[str] = Field(
        default_factory=list, description="Capabilities the source lists (tools, vision, thinking, embedding)."
    )
    sizes: list[str] = Field(default_factory=list, description="Parameter sizes offered as tags (Ollama: 8b, 70b).")
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


# ---- model names (SPEC section 3) -----------------------------------------------------------------

_NAME_CHARS = re.compile(r"^[A-Za-z0-9_.:/-]+$")


def check_model_name(value: str) -> str:
    """Refuse names that could escape a folder or be read as an option; say what is allowed."""
    if not value:
        raise ValueError("model name is empty; give e.g. 'llama3.2:1b' or 'org/repo'")
    if len(value) > 200:
        raise ValueError(f"model name is {len(value)} characters long; at most 200 are allowed")
    if not _NAME_CHARS.match(value):
        raise ValueError(f"model name {value!r} may only hold letters, digits and _ . : / -")
    if value.startswith(("-", "/")):
        raise ValueError(f"model name {value!r} must not start with '-' or '/'")
    parts = re.split(r"[/:]", value)
    if any(part == ".." for part in parts):
        raise ValueError(f"model name {value!r} must not contain a '..' segment")
    # "." would become ".:latest" and reach Ollama; "a//b" or "llama3:" name nothing either.
    if not all(any(char.isalnum() for char in part) for part in parts):
        raise ValueError(
            f"model name {value!r} has a part without a letter or digit (empty, or only dots or dashes); "
            "give e.g. 'llama3.2:1b' or 'org/repo'"
        )
    return value


ModelName = Annotated[str, AfterValidator(check_model_name)]


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


Health = Literal["online", "degraded", "offline", "unknown", "switching"]


class ActiveRuntime(Record):
    """The active runtime. `online` means its server answered just now and lists the model under this name;
    `switching` means an activation is under way (its operation is in list_operations)."""

    provider: Runtime | None
    model: str | None
    endpoint: str | None
    service_type: Literal["local", "cloud"] | None
    status: Health = "unknown"
    message: str | None = None


# ---- runtimes, chat, usage (SPEC sections 4 and 5) -------------------------------------------------

ServerName = Literal["ollama", "vllm", "llamacpp"]
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


class RuntimeStatus(Record):
    active: ActiveRuntime
    servers: list[ServerStatus]


class TokenUsage(Record):
    prompt_tokens: int | None
    completion_tokens: int | None


class ChatResult(Record):
    text: str
    llm_provider: Runtime
    llm_model: str
    llm_endpoint: str
    latency_ms: float
    fallback_from: str | None = Field(default=None, description="The runtime that failed before this one answered.")
    finish_reason: str | None = Field(
        default=None, description="Why the model stopped: 'stop', 'length' (max_tokens reached: the text is cut), "
        "'tool_calls'; null when the runtime does not say.")
    thinking: str | None = Field(default=None, description="The model's reasoning before its answer, when it gave one.")
    usage: TokenUsage | None = Field(default=None, description="Tokens the runtime counted, when it reports them.")
    tool_calls: list[ToolCall] = Field(
        default_factory=list, description="The functions the model asked to call (with tools); send each result back "
        "as a tool message with its tool_call_id.")
    parsed: Any = Field(default=None, description="With response_format: the answer parsed as JSON, checked against "
                                                   "the schema when one was given.")
    warnings: list[str] = Field(
        default_factory=list, description="What this runtime could not honour: parameters it does not take (dropped, "
        "not sent) and the like.")
    route_reason: str | None = Field(default=None, description="Why this runtime answered: the active model, the "
                                                               "model asked for, or a fallback after a failure.")


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
    cpu_usage_percent: float
    memory_total_gb: float
    memory_used_gb: float
    memory_usage_percent: float
    gpu_usage_percent: float | None = None
    vram_usage_mb: float | None = None
    vram_total_mb: float | None = None
    vram_usage_percent: float | None = None
    models_count: int


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


AlertKind = Literal["ram", "vram", "disk", "runtime", "llm_error", "llm_error_rate"]


class Alert(Record):
    """A watched condition over its threshold (services/alerts): raised at the threshold, cleared only below it minus
    a margin. `llm_*` name the provider (or local runtime), model and endpoint where one is concerned."""

    alert_id: str
    kind: AlertKind
    level: Literal["warning", "critical"]
    message: str
    value: float | None = Field(default=None, description="The latest reading: percent used (ram, vram, disk), "
                                "percent of calls failed (llm_error_rate), failures in a row (llm_error).")
    threshold: float | None = None
    llm_provider: str | None = None
    llm_model: str | None = None
    llm_endpoint: str | None = None
    raised_at: Timestamp
    cleared_at: Timestamp | None = None


class AlertList(Record):
    active: list[Alert] = Field(description="The alerts in force, newest first.")
    recent: list[Alert] = Field(description="The latest alerts, in force or cleared, newest first.")
    count: int = Field(description="How many alerts are in force.")


# ---- governance and translation (SPEC section 4) ---------------------------------------------------

ReasonCode = Literal["RATE_LIMITED", "BUDGET_EXCEEDED", "AUTH_ERROR", "TIMEOUT", "PROVIDER_DOWN", "MODEL_NOT_FOUND"]


class RequestRecord(Record):
    request_id: str
    llm_provider: str
    llm_model: str
    llm_endpoint: str
    started_at: Timestamp
    finished_at: Timestamp | None = None
    duration_seconds: float | None = None
    status: Literal["in_progress", "ok", "error"] = "in_progress"
    error: str | None = None
    reason: ReasonCode | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float = 0.0


class RequestHistory(Record):
    requests: list[RequestRecord]
    count: int


class ModelMetrics(Record):
    model: str
    requests: int
    errors: int
    success_rate: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float
    latency_ms_p50: float | None
    latency_ms_p95: float | None


class ProviderMetrics(Record):
    provider: str
    requests: int
    errors: int
    success_rate: float
    latency_ms_p50: float | None
    latency_ms_p95: float | None
    latency_ms_p99: float | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float
    health_score: float = Field(description="0..100: falls as errors and latency rise.")
    models: list[ModelMetrics] = Field(default_factory=list, description="The same, per model of this provider.")


class ProviderMetricsList(Record):
    providers: list[ProviderMetrics]


class TranslateResult(Record):
    translated_text: str
    source_lang: str | None
    target_lang: str
    llm_provider: str | None
    llm_model: str | None
    cached: bool
    chunks: int
    llm_endpoint: str | None = None
    fallback_from: str | None = Field(default=None, description="The runtime that failed before this one answered.")
    finish_reason: str | None = Field(
        default=None, description="'length' when any chunk reached its token budget (that part is cut), else the "
        "last chunk's reason; null for a cached answer.")
    thinking: str | None = Field(default=None, description="The model's reasoning, chunk by chunk, when it gave one.")


class ImportedServer(Record):
    name: str
    source: str
    tools: list[str]
    proxy_path: str


class ImportedServers(Record):
    servers: list[ImportedServer]
    count: int


class RemovedServer(Record):
    name: str
    removed: bool
