"""Settings from the environment and an optional `.env` file (SPEC section 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

RuntimeProfile = Literal["light", "llm_off", "full", "cluster"]
RoutingMode = Literal["local", "cloud", "hybrid"]
BudgetPeriod = Literal["day", "month", "total"]
OllamaProfile = Literal["balanced-12-24gb", "low-vram-8-12gb", "max-context-24gb-plus"]

# Ollama tuning per VENOM_OLLAMA_PROFILE; the OLLAMA_* variables (environment or .env) override single values.
# Which runtimes each VENOM_RUNTIME_PROFILE exposes is a column of the runtime table (adapters/runtimes.py).
OLLAMA_PROFILES: dict[str, dict[str, str]] = {
    "balanced-12-24gb": {
        "OLLAMA_CONTEXT_LENGTH": "8192",
        "OLLAMA_NUM_PARALLEL": "1",
        "OLLAMA_MAX_QUEUE": "128",
        "OLLAMA_FLASH_ATTENTION": "1",
        "OLLAMA_KV_CACHE_TYPE": "q8_0",
        "OLLAMA_KEEP_ALIVE": "30m",
    },
    "low-vram-8-12gb": {
        "OLLAMA_CONTEXT_LENGTH": "4096",
        "OLLAMA_NUM_PARALLEL": "1",
        "OLLAMA_MAX_QUEUE": "64",
        "OLLAMA_FLASH_ATTENTION": "1",
        "OLLAMA_KV_CACHE_TYPE": "q4_0",
        "OLLAMA_KEEP_ALIVE": "10m",
    },
    "max-context-24gb-plus": {
        "OLLAMA_CONTEXT_LENGTH": "32768",
        "OLLAMA_NUM_PARALLEL": "2",
        "OLLAMA_MAX_QUEUE": "256",
        "OLLAMA_FLASH_ATTENTION": "1",
        "OLLAMA_KV_CACHE_TYPE": "q8_0",
        "OLLAMA_KEEP_ALIVE": "60m",
    },
}


def _default_home() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("venom-mcp", appauthor=False))


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Every variable of SPEC section 2. Field names are for Python; the aliases are the environment names."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    venom_home: Path = Field(default_factory=_default_home, validation_alias=_env("VENOM_HOME", "venom_home"))
    models_cache_dir_override: Path | None = Field(
        default=None, validation_alias=_env("MODELS_CACHE_DIR", "models_cache_dir")
    )
    models_max_disk_gb: float = Field(
        default=50, gt=0, validation_alias=_env("MODELS_MAX_DISK_GB", "models_max_disk_gb")
    )
    hf_endpoint: str = Field(
        default="https://huggingface.co", validation_alias=_env("HF_ENDPOINT", "hf_endpoint")
    )
    hf_token: SecretStr | None = Field(default=None, validation_alias=_env("HF_TOKEN", "hf_token"))
    ollama_host: str = Field(
        default="http://127.0.0.1:11434", validation_alias=_env("OLLAMA_HOST", "ollama_host")
    )
    ollama_library_url: str = Field(
        default="https://ollama.com",
        validation_alias=_env("VENOM_OLLAMA_LIBRARY_URL", "ollama_library_url"),
    )
    ollama_registry_url: str = Field(  # manifests and GGUF heads of models not pulled yet (check_fit)
        default="https://registry.ollama.ai",
        validation_alias=_env("VENOM_OLLAMA_REGISTRY_URL", "ollama_registry_url"),
    )
    vllm_endpoint: str = Field(
        default="http://127.0.0.1:8001/v1", validation_alias=_env("VLLM_ENDPOINT", "vllm_endpoint")
    )
    llamacpp_endpoint: str = Field(
        default="http://127.0.0.1:8002/v1", validation_alias=_env("LLAMACPP_ENDPOINT", "llamacpp_endpoint")
    )
    ray_address: str = Field(
        default="http://127.0.0.1:8265", validation_alias=_env("RAY_ADDRESS", "ray_address"),
        description="A running Ray cluster's dashboard address: Serve's REST API and the state API.",
    )
    ray_serve_endpoint: str = Field(
        default="http://127.0.0.1:8000/v1", validation_alias=_env("RAY_SERVE_ENDPOINT", "ray_serve_endpoint"),
        description="Ray Serve's HTTP entry; each application answers under its route prefix there.",
    )
    vllm_command: str = Field(
        default="vllm serve {model_path} --served-model-name {served_model_name} --host {host} --port {port}",
        validation_alias=_env("VENOM_VLLM_COMMAND", "vllm_command"),
    )
    llamacpp_command: str = Field(
        default=(
            "python -m llama_cpp.server --model {model_path} --model_alias {served_model_name}"
            " --host {host} --port {port}"
        ),
        validation_alias=_env("VENOM_LLAMACPP_COMMAND", "llamacpp_command"),
    )
    ollama_command: str = Field(
        default="ollama serve", validation_alias=_env("VENOM_OLLAMA_COMMAND", "ollama_command")
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=_env("OPENAI_API_KEY", "openai_api_key")
    )
    openai_base_url: str = Field(
        default="https://api.openai.com/v1", validation_alias=_env("OPENAI_BASE_URL", "openai_base_url")
    )
    google_api_key: SecretStr | None = Field(
        default=None, validation_alias=_env("GOOGLE_API_KEY", "google_api_key")
    )
    google_base_url: str = Field(
        default="https://generativelanguage.googleapis.com/v1beta/openai/",
        validation_alias=_env("GOOGLE_BASE_URL", "google_base_url"),
    )
    runtime_profile: RuntimeProfile = Field(
        default="light", validation_alias=_env("VENOM_RUNTIME_PROFILE", "runtime_profile")
    )
    ollama_profile: OllamaProfile = Field(
        default="balanced-12-24gb", validation_alias=_env("VENOM_OLLAMA_PROFILE", "ollama_profile")
    )
    cache_ttl_seconds: float = Field(
        default=1800, ge=0, validation_alias=_env("VENOM_CACHE_TTL_SECONDS", "cache_ttl_seconds")
    )
    http_token: SecretStr | None = Field(
        default=None, validation_alias=_env("VENOM_HTTP_TOKEN", "http_token")
    )
    # Not in SPEC: how long one call to an outside catalog may take before the cached answer is served.
    http_timeout_seconds: float = Field(
        default=10, gt=0, validation_alias=_env("VENOM_HTTP_TIMEOUT_SECONDS", "http_timeout_seconds")
    )

    ollama_systemd_unit: str | None = Field(
        default=None, validation_alias=_env("VENOM_OLLAMA_SYSTEMD_UNIT", "ollama_systemd_unit")
    )
    vllm_systemd_unit: str | None = Field(
        default=None, validation_alias=_env("VENOM_VLLM_SYSTEMD_UNIT", "vllm_systemd_unit")
    )
    llamacpp_systemd_unit: str | None = Field(
        default=None, validation_alias=_env("VENOM_LLAMACPP_SYSTEMD_UNIT", "llamacpp_systemd_unit")
    )
    start_timeout_seconds: float = Field(
        default=180, gt=0, validation_alias=_env("VENOM_START_TIMEOUT_SECONDS", "start_timeout_seconds")
    )
    fallback_order: str = Field(
        default="", validation_alias=_env("VENOM_FALLBACK_ORDER", "fallback_order"),
        description="Comma-separated runtimes to try, in order, when the active one fails.",
    )
    llm_timeout_seconds: float = Field(
        default=120, gt=0, validation_alias=_env("VENOM_LLM_TIMEOUT_SECONDS", "llm_timeout_seconds")
    )

    rate_limits: str = Field(
        default="", validation_alias=_env("VENOM_RATE_LIMITS", "rate_limits"),
        description="Per provider 'requests/tokens' per minute, e.g. 'openai=60/90000,google=30/60000'.",
    )
    budget_usd: float | None = Field(default=None, ge=0, validation_alias=_env("VENOM_BUDGET_USD", "budget_usd"))
    budget_soft_usd: float | None = Field(
        default=None, ge=0, validation_alias=_env("VENOM_BUDGET_SOFT_USD", "budget_soft_usd")
    )
    provider_budgets_usd: str = Field(
        default="", validation_alias=_env("VENOM_PROVIDER_BUDGETS_USD", "provider_budgets_usd"),
        description="Hard budget per provider, e.g. 'openai=5,google=2'.",
    )
    prices_per_1k: str = Field(
        default="", validation_alias=_env("VENOM_PRICES_PER_1K", "prices_per_1k"),
        description="USD per 1k tokens, 'model=input/output' pairs, e.g. 'gpt-4o-mini=0.00015/0.0006'.",
    )
    provider_budgets_soft_usd: str = Field(
        default="", validation_alias=_env("VENOM_PROVIDER_BUDGETS_SOFT_USD", "provider_budgets_soft_usd"),
        description="Soft budget per provider, e.g. 'openai=4,google=1': a warning once reached.",
    )
    budget_period: BudgetPeriod = Field(
        default="month", validation_alias=_env("VENOM_BUDGET_PERIOD", "budget_period"),
        description="What every budget counts: the spend of this UTC day, this UTC month, or all in the ledger.",
    )
    routing_mode: RoutingMode | None = Field(
        default=None, validation_alias=_env("VENOM_ROUTING_MODE", "routing_mode"),
        description="local, cloud or hybrid (services/routing.py); unset: the active runtime, then the fallback order.",
    )
    ollama_no_cloud: bool = Field(
        default=False, validation_alias=_env("OLLAMA_NO_CLOUD", "ollama_no_cloud"),
        description="1: no request leaves the machine (no cloud runtime, no Ollama cloud model), as Ollama reads it.",
    )

    # Ollama tuning overrides (SPEC: "OLLAMA_* tuning variables override single values"); unset: the profile's.
    ollama_context_length: int | None = Field(
        default=None, gt=0, validation_alias=_env("OLLAMA_CONTEXT_LENGTH", "ollama_context_length"))
    ollama_num_parallel: int | None = Field(
        default=None, gt=0, validation_alias=_env("OLLAMA_NUM_PARALLEL", "ollama_num_parallel"))
    ollama_max_queue: int | None = Field(
        default=None, gt=0, validation_alias=_env("OLLAMA_MAX_QUEUE", "ollama_max_queue"))
    ollama_flash_attention: str | None = Field(
        default=None, validation_alias=_env("OLLAMA_FLASH_ATTENTION", "ollama_flash_attention"))
    ollama_kv_cache_type: Literal["f16", "q8_0", "q4_0"] | None = Field(
        default=None, validation_alias=_env("OLLAMA_KV_CACHE_TYPE", "ollama_kv_cache_type"))
    ollama_keep_alive: str | None = Field(
        default=None, validation_alias=_env("OLLAMA_KEEP_ALIVE", "ollama_keep_alive"))
    # Not in SPEC: how long an activation waits for running installs and requests on the runtimes it touches.
    drain_timeout_seconds: float = Field(
        default=60, gt=0, validation_alias=_env("VENOM_DRAIN_TIMEOUT_SECONDS", "drain_timeout_seconds"))
    scan_hf_cache: bool = Field(default=False, validation_alias=_env("VENOM_SCAN_HF_CACHE", "scan_hf_cache"))
    import_local_roots: str = Field(
        default="", validation_alias=_env("VENOM_IMPORT_LOCAL_ROOTS", "import_local_roots"),
        description="':'-separated absolute folders that import_mcp_server may copy local projects from; "
                    "empty: any absolute project folder.",
    )
    alert_ram_percent: float = Field(
        default=85, gt=0, le=100, validation_alias=_env("VENOM_ALERT_RAM_PERCENT", "alert_ram_percent"))
    alert_vram_percent: float = Field(
        default=85, gt=0, le=100, validation_alias=_env("VENOM_ALERT_VRAM_PERCENT", "alert_vram_percent"))
    alert_disk_percent: float = Field(
        default=90, gt=0, le=100, validation_alias=_env("VENOM_ALERT_DISK_PERCENT", "alert_disk_percent"))
    # Not in SPEC: a provider's share of failed calls among its recent ones, and how often the watcher looks.
    alert_error_rate_percent: float = Field(
        default=50, gt=0, le=100, validation_alias=_env("VENOM_ALERT_ERROR_RATE_PERCENT", "alert_error_rate_percent"))
    alert_interval_seconds: float = Field(
        default=10, gt=0, validation_alias=_env("VENOM_ALERT_INTERVAL_SECONDS", "alert_interval_seconds"))

    @field_validator("routing_mode", "budget_period", "ollama_no_cloud", mode="before")
    @classmethod
    def _blank_is_default(cls, value: object, info: ValidationInfo) -> object:
        """`VENOM_ROUTING_MODE=` (empty) means unset, as it does for a shell; names are case-insensitive."""
        if isinstance(value, str):
            value = value.strip().lower()
            if not value:
                return cls.model_fields[info.field_name or ""].default
        return value

    @field_validator(
        "hf_endpoint", "ollama_host", "ollama_library_url", "ollama_registry_url", "vllm_endpoint", "llamacpp_endpoint",
        "openai_base_url", "google_base_url",
    )
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL; write it as http://host:port")
        return value.rstrip("/")

    @field_validator("ray_address")
    @classmethod
    def _ray_address(cls, value: str) -> str:
        """Ray's own tools read RAY_ADDRESS too (`auto`, `ray://...`, a GCS `host:6379`): such a value must not stop
        venom-mcp from starting; the ray runtime names it when it is used (adapters/ray)."""
        value = value.strip().rstrip("/")
        return value if "://" in value or value == "auto" or not value else f"http://{value}"

    @property
    def models_cache_dir(self) -> Path:
        return self.models_cache_dir_override or self.venom_home / "models"

    @property
    def fallbacks(self) -> list[str]:
        from .records import RUNTIME_ALIASES

        names = [n.strip().lower() for n in self.fallback_order.split(",") if n.strip()]
        return [RUNTIME_ALIASES.get(n, n) for n in names]

    def ollama_tuning(self) -> dict[str, str]:
        """The Ollama profile's values with the OLLAMA_* overrides applied, as `ollama serve` reads them."""
        values = dict(OLLAMA_PROFILES[self.ollama_profile])
        overrides = {
            "OLLAMA_CONTEXT_LENGTH": self.ollama_context_length, "OLLAMA_NUM_PARALLEL": self.ollama_num_parallel,
            "OLLAMA_MAX_QUEUE": self.ollama_max_queue, "OLLAMA_FLASH_ATTENTION": self.ollama_flash_attention,
            "OLLAMA_KV_CACHE_TYPE": self.ollama_kv_cache_type, "OLLAMA_KEEP_ALIVE": self.ollama_keep_alive,
        }
        values.update({k: str(v) for k, v in overrides.items() if v is not None})
        return values

    def ollama_request(self) -> tuple[dict[str, object], str]:
        """What every Ollama request carries of the tuning, whoever started Ollama: (options, keep_alive)."""
        values = self.ollama_tuning()
        return {"num_ctx": int(values["OLLAMA_CONTEXT_LENGTH"])}, values["OLLAMA_KEEP_ALIVE"]

    def path(self, *parts: str) -> Path:
        """A path under VENOM_HOME; the home folder is created on first use."""
        self.venom_home.mkdir(parents=True, exist_ok=True)
        return self.venom_home.joinpath(*parts)

    def secrets(self) -> list[str]:
        """The secret values in force, for masking anything that leaves the process."""
        values = (self.hf_token, self.openai_api_key, self.google_api_key, self.http_token)
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]
