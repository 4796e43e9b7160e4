"""The runtime table: the facts of each runtime in one row, read by every other module.

Adding a runtime is one row here plus its adapter. A row says what kind of runtime it is, which settings hold its
endpoint, start command, systemd unit and API key (with the environment names users see in messages), its default
port, and which VENOM_RUNTIME_PROFILE values expose it. How each runtime names, bounds and places our generation
parameters is the parameter table beside it (generation.py), which `RuntimeSpec.parameters` reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from . import generation

if TYPE_CHECKING:
    from ..config import Settings

Kind = Literal["local", "cluster", "cloud"]
Protocol = Literal["ollama", "openai"]


@dataclass(frozen=True)
class RuntimeSpec:
    name: str
    kind: Kind
    protocol: Protocol  # the API it speaks: Ollama's own, or OpenAI-compatible
    endpoint_setting: str  # Settings attribute
    endpoint_env: str
    default_port: int | None = None
    command_setting: str | None = None
    command_env: str | None = None
    unit_setting: str | None = None
    unit_env: str | None = None
    key_setting: str | None = None
    key_env: str | None = None
    default_model: str | None = None  # cloud: what /gpt and /gem use without a model
    profiles: tuple[str, ...] = ()  # VENOM_RUNTIME_PROFILE values that expose it

    @property
    def parameters(self) -> Mapping[str, str]:
        """Our parameter name -> the runtime's name (generation.py); a parameter missing is not supported there."""
        return generation.native_names(self.name)

    @property
    def local(self) -> bool:
        return self.kind == "local"

    @property
    def cloud(self) -> bool:
        """Requests leave the user's own machines (a cluster the user runs is not a cloud)."""
        return self.kind == "cloud"


RUNTIMES: Mapping[str, RuntimeSpec] = MappingProxyType({spec.name: spec for spec in (
    RuntimeSpec(
        "ollama", "local", "ollama", "ollama_host", "OLLAMA_HOST", 11434, "ollama_command", "VENOM_OLLAMA_COMMAND",
        "ollama_systemd_unit", "VENOM_OLLAMA_SYSTEMD_UNIT", profiles=("light", "full"),
    ),
    RuntimeSpec(
        "vllm", "local", "openai", "vllm_endpoint", "VLLM_ENDPOINT", 8001, "vllm_command", "VENOM_VLLM_COMMAND",
        "vllm_systemd_unit", "VENOM_VLLM_SYSTEMD_UNIT", profiles=("full",),
    ),
    RuntimeSpec(
        "llamacpp", "local", "openai", "llamacpp_endpoint", "LLAMACPP_ENDPOINT", 8002, "llamacpp_command",
        "VENOM_LLAMACPP_COMMAND", "llamacpp_systemd_unit", "VENOM_LLAMACPP_SYSTEMD_UNIT", profiles=("full",),
    ),
    # A Ray cluster the user runs (adapters/ray): venom-mcp deploys Serve applications to it, never starts it.
    RuntimeSpec(
        "ray", "cluster", "openai", "ray_serve_endpoint", "RAY_SERVE_ENDPOINT", 8000, profiles=("full", "cluster"),
    ),
    RuntimeSpec(
        "openai", "cloud", "openai", "openai_base_url", "OPENAI_BASE_URL", key_setting="openai_api_key",
        key_env="OPENAI_API_KEY", default_model="gpt-4o-mini", profiles=("light", "llm_off", "full", "cluster"),
    ),
    RuntimeSpec(
        "google", "cloud", "openai", "google_base_url", "GOOGLE_BASE_URL", key_setting="google_api_key",
        key_env="GOOGLE_API_KEY", default_model="gemini-2.0-flash", profiles=("light", "llm_off", "full", "cluster"),
    ),
)})

LOCAL_RUNTIMES: tuple[str, ...] = tuple(name for name, spec in RUNTIMES.items() if spec.local)
CLUSTER_RUNTIMES: tuple[str, ...] = tuple(name for name, spec in RUNTIMES.items() if spec.kind == "cluster")
CLOUD_RUNTIMES: tuple[str, ...] = tuple(name for name, spec in RUNTIMES.items() if spec.cloud)
PROFILES: tuple[str, ...] = ("light", "llm_off", "full", "cluster")


def spec(runtime: str) -> RuntimeSpec:
    try:
        return RUNTIMES[runtime]
    except KeyError:
        raise KeyError(f"unknown runtime {runtime!r}; the runtimes are {', '.join(RUNTIMES)}") from None


def exposed(profile: str, kind: Kind | None = None) -> tuple[str, ...]:
    """The runtimes a VENOM_RUNTIME_PROFILE exposes, in table order (optionally of one kind)."""
    return tuple(n for n, s in RUNTIMES.items() if profile in s.profiles and (kind is None or s.kind == kind))


def endpoint(settings: Settings, runtime: str) -> str:
    """The real endpoint (it may hold a key in its URL): for requests only, mask it before showing it."""
    return str(getattr(settings, spec(runtime).endpoint_setting))


def model_endpoint(settings: Settings, runtime: str, model: str) -> str:
    """Where requests for `model` go: the runtime's endpoint, or for a cluster runtime (ray) the model's own
    application under RAY_SERVE_ENDPOINT (its route prefix)."""
    if spec(runtime).kind == "cluster":
        from .ray.app_config import serve_url

        return serve_url(endpoint(settings, runtime), model)
    return endpoint(settings, runtime)


def host_port(settings: Settings, runtime: str) -> tuple[str, str]:
    parts = urlsplit(endpoint(settings, runtime))
    return parts.hostname or "127.0.0.1", str(parts.port or spec(runtime).default_port or 80)


def api_key(settings: Settings, runtime: str) -> str | None:
    setting = spec(runtime).key_setting
    secret = getattr(settings, setting) if setting else None
    return secret.get_secret_value() if secret else None


def command(settings: Settings, runtime: str) -> str:
    setting = spec(runtime).command_setting
    if setting is None:
        raise KeyError(f"{runtime} is not started by venom-mcp")
    return str(getattr(settings, setting))


def unit(settings: Settings, runtime: str) -> str | None:
    setting = spec(runtime).unit_setting
    value = getattr(settings, setting) if setting else None
    return str(value) if value else None


def map_parameters(runtime: str, params: Mapping[str, object]) -> tuple[dict[str, object], list[str]]:
    """Rename generation parameters for `runtime`: (the mapped ones, wherever they go, and the names it does not
    take). Unset ones go. generation.translate also says where each one goes in the request."""
    found = generation.translate(runtime, params)
    return {**found.options, **found.body, **found.extra_body}, found.dropped
