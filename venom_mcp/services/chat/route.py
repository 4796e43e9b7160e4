"""Which runtime answers a chat, and why.

`resolve` finds the runtime of the model asked for: `model=...` (an installed model, or a cloud model's name), else
the active model. `plan` orders the runtimes to try; it is the one place where that choice is made, so the routing
policy (services/routing.py, VENOM_ROUTING_MODE) decides there, leaving out what the profile does not allow and
runtimes without a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from ...adapters import runtimes as table
from ...adapters.openai_compat import served_models
from ...config import Settings
from ...errors import Conflict, InvalidArgument, NotFound, UpstreamError
from ...records import Capabilities
from .. import profile, routing
from ..registry import ModelRegistry
from ..runtime_state import RuntimeState
from .request import ChatRequest

# How cloud model names begin (an Ollama or Hub name has a tag or an owner: `gpt-oss:20b`, `google/gemma-2b`).
CLOUD_MODEL_PREFIXES: dict[str, tuple[str, ...]] = {
    "openai": ("gpt-", "chatgpt-", "o1", "o3", "o4", "ft:", "davinci", "babbage"),
    "google": ("gemini-", "models/gemini-", "gemma-", "learnlm-"),
}


@dataclass(frozen=True)
class Asked:
    """The runtime and model a request asked for, and why they are the ones."""

    runtime: str
    model: str
    reason: str  # "the active model", "model= asked for X on Y"
    pinned: bool  # named by the request; False: the active model, which an activation may change meanwhile


@dataclass(frozen=True)
class Candidate:
    runtime: str
    model: str


@dataclass(frozen=True)
class Plan:
    candidates: list[Candidate]  # in order; the first is the one asked for, when it may be asked
    reason: str  # the first candidate's route_reason
    skipped: list[str] = field(default_factory=list)  # runtimes left out, and why, for the error when all fail


def cloud_runtime(name: str) -> str | None:
    """The cloud runtime whose model names look like `name`, or None."""
    if ":" in name and not name.startswith("ft:"):
        return None
    return next((runtime for runtime, prefixes in CLOUD_MODEL_PREFIXES.items() if name.startswith(prefixes)), None)


async def resolve(settings: Settings, state: RuntimeState, registry: ModelRegistry, http: httpx.AsyncClient,
                  model: str | None) -> Asked:
    """The runtime asked for: the active one, or the one that serves `model` (used for this request only)."""
    active_runtime, active_model = state.active()
    if model is None or model == active_model:
        if not active_runtime or not active_model:
            raise InvalidArgument("no active runtime: use activate_model or switch_runtime first, or name a model "
                                  "(model=)")
        return Asked(active_runtime, active_model, "the active model", pinned=False)
    runtime, name = await _find(settings, registry, model)
    profile.require(settings, runtime, "requests")
    if runtime in ("vllm", "llamacpp") and (runtime, name) != (active_runtime, active_model):
        await _served(settings, http, runtime, name)
    return Asked(runtime, name, f"model= asked for {name} on {runtime}", pinned=True)


async def _find(settings: Settings, registry: ModelRegistry, model: str) -> tuple[str, str]:
    cloud = cloud_runtime(model)
    try:
        entry = await registry.resolve(model)
    except (NotFound, UpstreamError) as exc:
        if cloud is not None:
            return cloud, model
        if isinstance(exc, UpstreamError):
            raise
        raise NotFound(f"{exc}; or name a cloud model (e.g. gpt-4o-mini on openai, gemini-2.0-flash on google)"
                       ) from exc
    return entry.runtime, entry.name


async def _served(settings: Settings, http: httpx.AsyncClient, runtime: str, model: str) -> None:
    """A vLLM or llama.cpp server serves one model, the one it was started with: any other is a clear error."""
    endpoint = table.endpoint(settings, runtime)
    fix = (f"make it the active model there with activate_model(name={model!r}, runtime={runtime!r}); "
           f"{runtime} serves one model at a time")
    try:
        served = await served_models(http, endpoint)
    except UpstreamError as exc:
        raise Conflict(f"{model} runs on {runtime}, which is not answering at {endpoint} ({exc}): {fix}") from exc
    if model not in served:
        raise Conflict(f"{model} is installed for {runtime}, but the {runtime} server at {endpoint} serves "
                       f"{', '.join(served) or 'no model'}: {fix}")


def plan(settings: Settings, state: RuntimeState, asked: Asked, request: ChatRequest,
         local: Capabilities | None = None) -> Plan:
    """The seam: the runtimes to try for this request, in order, with the reason for the first.

    The routing policy (services/routing.py, VENOM_ROUTING_MODE with `request.sensitive` and the detector) decides;
    `local` is what the asked model can do when it is a local one (its context, function calling). Unset mode:
    the runtime asked for, then VENOM_FALLBACK_ORDER, and a sensitive request never leaves the machine.
    """
    models = {r: m for r in table.RUNTIMES
              if (m := asked.model if r == asked.runtime else state.configured(r) or table.spec(r).default_model)}
    context = local.max_context_length if local else None
    if context and request.num_ctx and asked.runtime == "ollama":
        context = min(context, request.num_ctx)
    facts = routing.facts_from(
        settings, active=state.active(), requested=(asked.runtime, asked.model) if asked.pinned else (None, None),
        models=models, texts=request.texts(), sensitive_flag=request.sensitive,
        token_estimate=routing.estimate_tokens(request.texts(), request.max_tokens), local_context_length=context,
        tools_requested=bool(request.tools), local_function_calling=local.supports_function_calling if local else None,
    )
    decision = routing.decide(settings.routing_mode, facts)
    if not decision.candidates:
        raise InvalidArgument(decision.reason)
    skipped = list(decision.skipped)
    candidates = []
    for runtime in decision.candidates:
        if runtime in models:
            candidates.append(Candidate(runtime, models[runtime]))
        else:
            skipped.append(f"{runtime}: no model configured")
    if not candidates:
        raise InvalidArgument("; ".join(skipped) or decision.reason)
    plain = settings.routing_mode is None and not request.sensitive and candidates[0].runtime == asked.runtime
    return Plan(candidates, asked.reason if plain else decision.reason, skipped)
