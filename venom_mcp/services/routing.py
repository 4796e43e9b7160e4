"""VENOM_ROUTING_MODE as a pure policy: which runtimes a chat request may go to, in order, and why. No I/O.

The policy, one rule a line (applied in this order):

1. Hard limits, every mode: `OLLAMA_NO_CLOUD=1` never sends to the cloud (cloud runtimes, and Ollama's `:cloud` /
   `-cloud` models, which Ollama runs on ollama.com); `VENOM_RUNTIME_PROFILE` drops the runtimes it does not expose
   (`llm_off`: the local ones); a request marked `sensitive=true` never goes to the cloud.
2. Unset: the runtime asked for (the request's model, else the active one), then VENOM_FALLBACK_ORDER: today's order.
3. `local`: the same order without cloud runtimes; a cloud runtime stays only when it is the one asked for (the user
   made it active, or named its model).
4. `cloud`: the cloud runtimes first (the one asked for, those of VENOM_FALLBACK_ORDER, then any other with a key),
   then the local runtimes of that order as the last resort.
5. `hybrid`: the request stays local unless one of these sends it to the cloud runtimes with a key (those of
   VENOM_FALLBACK_ORDER first; the local ones stay behind them as the fallback):
   - the request needs more tokens (prompt + max_tokens) than the local model's context holds;
   - tools are requested and the local model has no function calling;
   - `quality="high"` is asked.
   None of them applies when the request is marked sensitive or the detector (services/sensitive.py) finds a key, a
   private key, an email address, a payment card, an IBAN or a national id in it: it stays local. A request pinned to
   a model (`model=...`) is not moved; a cloud runtime the user made active is kept, except for such a request.
   A local runtime that fails may still fall back to a cloud runtime of VENOM_FALLBACK_ORDER, sensitive data aside.

Ray (a cluster the user runs) and the local runtimes are not "cloud": the table's kind says which runtimes are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ..adapters import runtimes as table
from ..config import RoutingMode
from . import profile, sensitive

if TYPE_CHECKING:
    from ..config import Settings

Quality = Literal["default", "high"]


@dataclass(frozen=True)
class RouteFacts:
    """What the policy needs to know about one request; everything has a default but the active runtime.

    findings are detector kinds only (sensitive.scan), never the matched text.
    """

    active_runtime: str | None
    active_model: str | None = None
    requested_runtime: str | None = None  # the runtime of the request's own `model=...`, if it named one
    requested_model: str | None = None
    fallback_order: tuple[str, ...] = ()  # Settings.fallbacks (aliases already resolved)
    models: Mapping[str, str] = field(default_factory=dict)  # runtime -> the model it would serve
    cloud_ready: frozenset[str] = frozenset()  # cloud runtimes whose API key is set
    sensitive: bool = False
    findings: tuple[str, ...] = ()
    token_estimate: int = 0  # prompt + max_tokens, see estimate_tokens
    local_context_length: int | None = None  # the context the local model will get (None: unknown)
    tools_requested: bool = False
    local_function_calling: bool | None = None  # None: unknown (then tools do not move the request)
    quality: Quality = "default"
    profile: str = "light"  # VENOM_RUNTIME_PROFILE
    no_cloud: bool = False  # OLLAMA_NO_CLOUD


@dataclass(frozen=True)
class RouteDecision:
    candidates: list[str]  # runtimes to try, in order; empty: refuse the request with `reason`
    reason: str  # one human sentence: the chat result's route_reason, or the refusal's text
    skipped: list[str] = field(default_factory=list)  # "ollama: OLLAMA_NO_CLOUD=1 ...", a profile's refusal


@dataclass
class _Plan:
    order: list[str]
    reason: str = ""
    refused: bool = False


def estimate_tokens(texts: Iterable[str], max_tokens: int) -> int:
    """The tokens a request needs: about four characters a token for the prompt, plus the answer's budget."""
    return sum(len(text) for text in texts) // 4 + max_tokens


def facts_from(settings: Settings, *, active: tuple[str | None, str | None],
               requested: tuple[str | None, str | None] = (None, None), models: Mapping[str, str] | None = None,
               texts: Iterable[str] = (), sensitive_flag: bool = False, token_estimate: int = 0,
               local_context_length: int | None = None, tools_requested: bool = False,
               local_function_calling: bool | None = None, quality: Quality = "default") -> RouteFacts:
    """RouteFacts with the settings' part filled in (fallback order, keys, profile, OLLAMA_NO_CLOUD) and the
    detector run over `texts` (system prompt, every message's content, tool definitions as JSON)."""
    return RouteFacts(
        active_runtime=active[0], active_model=active[1], requested_runtime=requested[0],
        requested_model=requested[1], fallback_order=tuple(settings.fallbacks), models=dict(models or {}),
        cloud_ready=frozenset(r for r in table.CLOUD_RUNTIMES if table.api_key(settings, r)),
        sensitive=sensitive_flag, findings=tuple(sensitive.scan(list(texts))), token_estimate=token_estimate,
        local_context_length=local_context_length, tools_requested=tools_requested,
        local_function_calling=local_function_calling, quality=quality, profile=settings.runtime_profile,
        no_cloud=settings.ollama_no_cloud,
    )


def decide(mode: RoutingMode | None, facts: RouteFacts) -> RouteDecision:
    """The runtimes one request may go to, in order, and why.

    How the chat service calls it: once per request, before the first attempt, from its routing seam
    (services/chat/route.py `plan`). With VENOM_ROUTING_MODE unset the order is today's: the runtime asked for,
    then VENOM_FALLBACK_ORDER.

        models = {r: m for r in table.RUNTIMES
                  if (m := asked.model if r == asked.runtime else state.configured(r) or table.spec(r).default_model)}
        facts = routing.facts_from(
            settings, active=state.active(), requested=(asked.runtime, asked.model) if asked.pinned else (None, None),
            models=models, texts=request.texts(), sensitive_flag=request.sensitive,
            token_estimate=routing.estimate_tokens([str(m.get("content") or "") for m in request.messages],
                                                   request.max_tokens),
            local_context_length=min(caps.max_context_length, num_ctx sent) or None,  # the local model's
            tools_requested=bool(request.tools), local_function_calling=caps.supports_function_calling,
            quality="default")                                                    # or the request's quality
        decision = routing.decide(settings.routing_mode, facts)
        if not decision.candidates:
            raise InvalidArgument(decision.reason)                                # nothing may take it
        candidates = [Candidate(r, models[r]) for r in decision.candidates if r in models]  # others: no model
        return Plan(candidates, decision.reason, decision.skipped)

    `decision.reason` is the result's route_reason; an answer from a later candidate than the first is a fallback
    (fallback_from = decision.candidates[0]). `decision.skipped` says what was left out and why, for the error
    text when every candidate fails.
    """
    start = facts.requested_runtime or facts.active_runtime
    base = _unique([start, *facts.fallback_order])
    skipped = [f"{r}: not a runtime (VENOM_FALLBACK_ORDER)" for r in base if r not in table.RUNTIMES]
    known = [r for r in base if r in table.RUNTIMES]
    label = f"{mode}: " if mode else ""
    # Sensitive data never leaves: the flag in every mode, the detector's findings where the policy decides.
    blockers = _blockers(facts, mode)
    if blockers and start is not None and facts.requested_runtime and _leaves(facts, start):
        plan = _Plan([], f"{label}refused: {blockers[0]}, and the model asked for runs in the cloud ({start}); ask a "
                         "local model", refused=True)
    elif mode == "local":
        plan = _local(facts, known, start, skipped)
    elif mode == "cloud":
        plan = _cloud(facts, known)
    elif mode == "hybrid":
        plan = _hybrid(facts, known, start, blockers)
    else:
        plan = _Plan(known)  # the reason once the filters below have run
    if blockers and not plan.refused:
        skipped += [f"{r}: {blockers[0]}" for r in plan.order if _leaves(facts, r)]
        stays = [r for r in plan.order if not _leaves(facts, r)]
        plan = _Plan(_unique([*stays, *_local_ready(facts)]), f"{label}stays local: {blockers[0]}")

    allowed = table.exposed(facts.profile)
    candidates, dropped = [], {}
    for runtime in plan.order:
        if runtime not in allowed:
            dropped[runtime] = profile.refusal_of(facts.profile, runtime, "requests")
        elif facts.no_cloud and _leaves(facts, runtime):
            dropped[runtime] = "OLLAMA_NO_CLOUD=1 keeps requests off the cloud"
        else:
            candidates.append(runtime)
    # A profile's refusal names its runtime already.
    skipped += [why if why.startswith("VENOM_RUNTIME_PROFILE") else f"{runtime}: {why}"
                for runtime, why in dropped.items()]
    if plan.refused or not candidates:
        return RouteDecision([], plan.reason if plan.refused else _refusal(mode, facts, blockers, skipped), skipped)
    reason = plan.reason or _plain(start, candidates)
    if plan.order[0] in dropped:  # the first choice is out: say why, and who takes the request
        reason = f"{label}{plan.order[0]} left out: {dropped[plan.order[0]]}; {candidates[0]} takes the request"
    return RouteDecision(candidates, reason, skipped)


def _local(facts: RouteFacts, known: list[str], start: str | None, skipped: list[str]) -> _Plan:
    order = []
    for runtime in known:
        if _leaves(facts, runtime) and runtime != start:
            skipped.append(f"{runtime}: cloud fallback skipped (VENOM_ROUTING_MODE=local)")
        else:
            order.append(runtime)
    if len(order) < len(known):
        return _Plan(order, "local: cloud fallback skipped (VENOM_ROUTING_MODE=local)")
    if start is not None and _leaves(facts, start):
        return _Plan(order, f"local: {start} is the runtime the user chose (VENOM_ROUTING_MODE=local)")
    return _Plan(order, "local: stays on this machine (VENOM_ROUTING_MODE=local)")


def _cloud(facts: RouteFacts, known: list[str]) -> _Plan:
    clouds = _clouds(facts, known)
    order = _unique([*clouds, *(r for r in known if not _leaves(facts, r))])
    head = f"{clouds[0]} first" if clouds else "no cloud runtime has a key, local ones only"
    return _Plan(order, f"cloud: {head} (VENOM_ROUTING_MODE=cloud)")


def _hybrid(facts: RouteFacts, known: list[str], start: str | None, blockers: list[str]) -> _Plan:
    if blockers:
        return _Plan(known)  # decide keeps the local ones
    if start is not None and _leaves(facts, start):
        return _Plan(known, f"hybrid: {start} is the runtime the user chose")
    if facts.requested_runtime:
        return _Plan(known, "hybrid: stays local: the request names its model")
    triggers = _triggers(facts, start)
    if not triggers:
        return _Plan(known, "hybrid: stays local: no rule sends it to the cloud")
    clouds = [r for r in _clouds(facts, known) if r in facts.cloud_ready and r in table.exposed(facts.profile)]
    if facts.no_cloud:
        return _Plan(known, f"hybrid: stays local: {triggers[0]}, but OLLAMA_NO_CLOUD=1")
    if not clouds:
        keys = " or ".join(table.spec(r).key_env or r for r in table.CLOUD_RUNTIMES)
        return _Plan(known, f"hybrid: stays local: {triggers[0]}, but no cloud runtime has a key ({keys})")
    return _Plan(_unique([*clouds, *known]), f"hybrid: cloud: {triggers[0]}")


def _clouds(facts: RouteFacts, known: list[str]) -> list[str]:
    """The cloud runtimes of the order, then the others that have a key, in table order."""
    clouds = [r for r in known if _leaves(facts, r)]
    return clouds + [r for r in table.CLOUD_RUNTIMES if r in facts.cloud_ready and r not in clouds]


def _triggers(facts: RouteFacts, start: str | None) -> list[str]:
    """The rules that send a request to the cloud, in the order the reason names them."""
    model = facts.active_model or start or "the local model"
    found = []
    context = facts.local_context_length
    if context and facts.token_estimate > context:
        found.append(f"the request needs ~{facts.token_estimate} tokens, more than {model}'s context of {context}")
    if facts.tools_requested and facts.local_function_calling is False:
        found.append(f"tools were requested and {model} has no function calling")
    if facts.quality == "high":
        found.append("quality=high was asked")
    return found


def _blockers(facts: RouteFacts, mode: RoutingMode | None) -> list[str]:
    found = []
    if facts.sensitive:
        found.append("the request is marked sensitive")
    if facts.findings and mode == "hybrid":
        found.append(f"the prompt holds {sensitive.describe(facts.findings)}")
    return found


def _local_ready(facts: RouteFacts) -> list[str]:
    """Local runtimes with a model to serve, in table order: where a sensitive request goes when none is asked for."""
    return [r for r in table.LOCAL_RUNTIMES if r in facts.models and not _leaves(facts, r)]


def _leaves(facts: RouteFacts, runtime: str) -> bool:
    """Whether a request to `runtime` leaves the machine: a cloud runtime, or an Ollama cloud model."""
    if runtime in table.RUNTIMES and table.spec(runtime).kind == "cloud":
        return True
    if runtime != "ollama":
        return False
    if runtime == facts.requested_runtime:
        model = facts.requested_model
    elif runtime == facts.active_runtime:
        model = facts.active_model
    else:
        model = facts.models.get(runtime)
    return model is not None and is_ollama_cloud_model(model)


def is_ollama_cloud_model(name: str) -> bool:
    """Ollama's cloud models (`gpt-oss:120b-cloud`, `glm-4.6:cloud`) run on ollama.com, not on this machine."""
    tag = name.rpartition(":")[2] if ":" in name else ""
    return tag == "cloud" or tag.endswith("-cloud")


def _plain(start: str | None, order: Sequence[str]) -> str:
    rest = [r for r in order if r != start]
    head = f"{start} is the runtime asked for" if start in order else "no runtime is active"
    return head + (f"; then {', '.join(rest)} (VENOM_FALLBACK_ORDER)" if rest else "")


def _refusal(mode: RoutingMode | None, facts: RouteFacts, blockers: list[str], skipped: list[str]) -> str:
    label = f"{mode}: " if mode else ""
    if facts.profile == "llm_off" and (blockers or facts.no_cloud or mode == "local"):
        why = (blockers[0] if blockers else "OLLAMA_NO_CLOUD=1 keeps requests off the cloud" if facts.no_cloud
               else "VENOM_ROUTING_MODE=local keeps requests on this machine")
        return (f"{label}refused: VENOM_RUNTIME_PROFILE=llm_off allows only cloud runtimes, and {why}; "
                "choose another VENOM_RUNTIME_PROFILE")
    if blockers or facts.no_cloud:
        why = blockers[0] if blockers else "OLLAMA_NO_CLOUD=1 keeps requests off the cloud"
        return (f"{label}refused: {why}, and no local runtime can take it; activate a local model "
                "(activate_model) or name one in VENOM_FALLBACK_ORDER")
    detail = "; ".join(skipped) or "no runtime is active and VENOM_FALLBACK_ORDER is empty"
    return f"{label}refused: no runtime may take this request ({detail})"


def _unique(items: Iterable[str | None]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item and item not in seen:
            seen.append(item)
    return seen
