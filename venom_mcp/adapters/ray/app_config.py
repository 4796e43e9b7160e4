"""The Serve application config venom-mcp deploys for a model (one entry of ServeDeploySchema's `applications`):

* a Hugging Face safetensors model: `ray.serve.llm:build_openai_app` with one LLMConfig (vLLM), as Ray documents it;
* a GGUF model: the llama.cpp deployment that ships with venom-mcp (`llamacpp_app.py`), which fetches the file with
  huggingface_hub on the node that runs the replica.

Each application is named after the model (`org/repo:Q4_K_M` -> `org--repo:Q4_K_M`: Ray names log files after it) and
served under that name as its route prefix, so the model answers at RAY_SERVE_ENDPOINT's host with that prefix
(`http://127.0.0.1:8000/org--repo:Q4_K_M/v1`). Its runtime_env carries
MARKER, which is how venom-mcp knows the applications it deployed (and never deletes any other). No secret goes into
a config (Ray shows configs to anyone who can read its dashboard): a node that needs HF_TOKEN for a gated model has
it in its own environment.

The replica options come from model_config (`num_replicas`, or `min_replicas`/`max_replicas` for autoscaling,
`num_cpus`, `num_gpus`, `context_length`); DEPLOYMENT_OPTIONS describes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

MARKER = "VENOM_MCP_MODEL"
LLAMACPP_IMPORT_PATH = "venom_mcp.adapters.ray.llamacpp_app:build"
VLLM_IMPORT_PATH = "ray.serve.llm:build_openai_app"
LLAMACPP_DEPLOYMENT = "LlamaCpp"
DEFAULT_CONTEXT = 2048  # llama.cpp's context when model_config sets none (llama_cpp.server's --n_ctx default)

Engine = Literal["llamacpp", "vllm"]


@dataclass(frozen=True)
class Option:
    name: str
    type: Literal["integer", "number"]
    minimum: float
    maximum: float | None
    default: float | None
    description: str


DEPLOYMENT_OPTIONS: tuple[Option, ...] = (
    Option("num_replicas", "integer", 1, 64, 1, "Ray Serve: replicas of the model (a fixed number)."),
    Option("min_replicas", "integer", 0, 64, None,
           "Ray Serve: autoscaling, the fewest replicas (with max_replicas; instead of num_replicas)."),
    Option("max_replicas", "integer", 1, 64, None, "Ray Serve: autoscaling, the most replicas."),
    Option("num_cpus", "number", 0.1, 256, 1, "Ray Serve: CPUs each replica reserves (llama.cpp uses as many "
                                              "threads)."),
    Option("num_gpus", "number", 0, 16, None, "Ray Serve: GPUs each replica reserves (vLLM: 1 unless set; its "
                                              "tensor parallel size; llama.cpp: 0, all layers on the GPU when set)."),
    Option("context_length", "integer", 256, 1 << 20, None, "Ray Serve: the context each replica loads the model with "
                                                            f"(llama.cpp: {DEFAULT_CONTEXT} unless set; vLLM: the "
                                                            "model's own)."),
)
OPTION_NAMES: tuple[str, ...] = tuple(option.name for option in DEPLOYMENT_OPTIONS)


@dataclass(frozen=True)
class ReplicaOptions:
    num_replicas: int | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    num_cpus: float | None = None
    num_gpus: float | None = None
    context_length: int | None = None

    @classmethod
    def from_overrides(cls, values: dict[str, object]) -> ReplicaOptions:
        """The deployment options among a model's overrides (model_config); checked when they were stored."""
        found: dict[str, Any] = {name: values[name] for name in OPTION_NAMES if values.get(name) is not None}
        for name in ("num_replicas", "min_replicas", "max_replicas", "context_length"):
            if name in found:
                found[name] = int(found[name])
        return cls(**found)

    @property
    def autoscaling(self) -> bool:
        return self.min_replicas is not None or self.max_replicas is not None

    def scaling(self) -> dict[str, Any]:
        """num_replicas, or an autoscaling_config (Serve's own field names)."""
        if self.autoscaling:
            low = self.min_replicas if self.min_replicas is not None else 1
            high = self.max_replicas if self.max_replicas is not None else max(low, 1)
            return {"autoscaling_config": {"min_replicas": low, "max_replicas": high,
                                           "initial_replicas": max(low, 1)}}
        return {"num_replicas": self.num_replicas or 1}

    @property
    def replicas_wanted(self) -> int:
        """The replicas that must run before the application counts as up (autoscaling: its minimum, at least 1)."""
        if self.autoscaling:
            return max(self.min_replicas or 1, 1)
        return self.num_replicas or 1


@dataclass(frozen=True)
class ModelSource:
    """Where the replicas fetch the model: a Hub repo at a revision, and for GGUF the files to load."""

    repo_id: str
    revision: str | None
    files: tuple[str, ...] = ()  # GGUF: the model's files (a split model's parts in order); empty for safetensors
    hf_endpoint: str = "https://huggingface.co"


def application_name(model: str) -> str:
    """The Serve application's name for a model: its name with `/` written `--` (Ray names log files after it)."""
    return model.strip("/").replace("/", "--")


def route_prefix(model: str) -> str:
    return "/" + application_name(model)


def serve_url(serve_endpoint: str, model: str) -> str:
    """The OpenAI-compatible base URL of the model's application: RAY_SERVE_ENDPOINT with its route prefix
    (`http://h:8000/v1` -> `http://h:8000/<model>/v1`)."""
    parts = urlsplit(serve_endpoint.rstrip("/"))
    return f"{parts.scheme}://{parts.netloc}{route_prefix(model)}{parts.path}"


def http_options(serve_endpoint: str) -> dict[str, Any]:
    """Where Serve listens, when venom-mcp's PUT is the one that starts it: RAY_SERVE_ENDPOINT's host and port."""
    parts = urlsplit(serve_endpoint)
    return {"host": parts.hostname or "127.0.0.1", "port": parts.port or (443 if parts.scheme == "https" else 80)}


def llamacpp_application(model: str, source: ModelSource, options: ReplicaOptions) -> dict[str, Any]:
    """The GGUF model as venom-mcp's llama.cpp deployment."""
    cpus = options.num_cpus or 1
    actor: dict[str, Any] = {"num_cpus": cpus}
    if options.num_gpus:
        actor["num_gpus"] = options.num_gpus
    return {
        "name": application_name(model),
        "route_prefix": route_prefix(model),
        "import_path": LLAMACPP_IMPORT_PATH,
        "runtime_env": {"env_vars": {MARKER: model}},
        "args": {
            "served_model_name": model, "repo_id": source.repo_id, "revision": source.revision,
            "files": list(source.files), "hf_endpoint": source.hf_endpoint,
            "n_ctx": options.context_length or DEFAULT_CONTEXT, "n_threads": max(int(cpus), 1),
            "n_gpu_layers": -1 if options.num_gpus else 0,
        },
        "deployments": [{"name": LLAMACPP_DEPLOYMENT, **options.scaling(), "ray_actor_options": actor}],
    }


def vllm_application(model: str, source: ModelSource, options: ReplicaOptions) -> dict[str, Any]:
    """The safetensors model with ray.serve.llm (vLLM): one LLMConfig, served under the model's own name."""
    gpus = int(options.num_gpus or 1)
    engine: dict[str, Any] = {"tensor_parallel_size": gpus}
    if source.revision:
        engine["revision"] = source.revision
    if options.context_length:
        engine["max_model_len"] = options.context_length
    llm: dict[str, Any] = {
        "model_loading_config": {"model_id": model, "model_source": source.repo_id},
        "engine_kwargs": engine,
        "deployment_config": options.scaling(),
        "runtime_env": {"env_vars": {"HF_ENDPOINT": source.hf_endpoint}},
    }
    if options.num_cpus:
        llm["placement_group_config"] = {"bundle_per_worker": {"CPU": options.num_cpus, "GPU": 1}}
    return {
        "name": application_name(model),
        "route_prefix": route_prefix(model),
        "import_path": VLLM_IMPORT_PATH,
        "runtime_env": {"env_vars": {MARKER: model}},
        "args": {"llm_configs": [llm]},
    }


def deployed_by_us(config: dict[str, Any] | None) -> str | None:
    """The model a deployed application serves when venom-mcp deployed it (its MARKER), else None."""
    if not isinstance(config, dict):
        return None
    env = (config.get("runtime_env") or {}).get("env_vars") or {}
    value = env.get(MARKER) if isinstance(env, dict) else None
    return str(value) if value else None


def engine_of(config: dict[str, Any] | None) -> Engine | None:
    path = (config or {}).get("import_path")
    return "llamacpp" if path == LLAMACPP_IMPORT_PATH else "vllm" if path == VLLM_IMPORT_PATH else None
