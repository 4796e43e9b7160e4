"""The chat service: one request through the runtimes of its plan, with fallback, governance and checks.

Every attempt passes the profile gate and the governance gate (limits, budgets), holds its runtime's request gate
(so an activation waits for it, and it waits for an activation), and lands in the request history. Before anything
is sent, each candidate is checked: the model can call tools when tools are given, and the prompt plus max_tokens
fits its context. Ollama requests carry the Ollama profile's num_ctx and keep_alive, so the tuning reaches any
Ollama, not only one venom-mcp started.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...adapters import runtimes as table
from ...adapters.ollama import OllamaAdapter
from ...adapters.openai_compat import OpenAIClients, Tokenizers
from ...adapters.reply import Reply
from ...config import Settings
from ...errors import ConfigError, Conflict, InvalidArgument, NotFound, UpstreamError
from ...observability import span
from ...records import Capabilities, ChatResult
from ..capabilities import adapt_messages
from ..governance import GateClosed, Governance
from ..registry import ModelRegistry
from ..runtime_state import RequestGates, RuntimeState
from .context import PromptSize, Window, check, estimate, most, overhead, window
from .failures import Failures
from .request import ChatRequest, prompt_texts
from .route import Asked, Candidate, plan, resolve
from .stream import ChatStream, open_stream
from .structured import parse
from .wire import Wire, ollama_wire, openai_wire

log = logging.getLogger(__name__)
RESOLVE_TRIES = 5
TOOL_MODELS_SHOWN = 5


class _Switched(Exception):
    """The active model changed while a request waited at its runtime's gate."""


@dataclass
class _Prepared:
    wire: Wire
    keep_alive: str | None
    prompt_tokens: int


class ChatService:
    def __init__(self, settings: Settings, state: RuntimeState, gates: RequestGates, registry: ModelRegistry,
                 ollama: OllamaAdapter, clients: OpenAIClients, governance: Governance) -> None:
        self.settings = settings
        self.state = state
        self.gates = gates
        self.registry = registry
        self.ollama = ollama
        self.clients = clients
        self.governance = governance
        self.tokenizers = Tokenizers(registry.http)
        # (runtime, model) -> that model's overrides (model_config); each candidate gets its own model's
        self.overrides: Callable[[str, str], Mapping[str, object]] = lambda runtime, model: {}

    def active(self) -> tuple[str, str]:
        """The active (runtime, model); a clear error when there is none."""
        runtime, model = self.state.active()
        if not runtime or not model:
            raise InvalidArgument("no active runtime: use activate_model or switch_runtime first")
        return runtime, model

    async def capabilities(self, model: str) -> Capabilities:
        try:
            return await self.registry.capabilities(model)
        except (NotFound, ValueError, UpstreamError):
            return Capabilities()  # a cloud model, or a runtime that cannot tell: the defaults

    async def _capabilities(self, runtime: str, model: str) -> Capabilities:
        return Capabilities() if table.spec(runtime).cloud else await self.capabilities(model)

    async def chat(self, prompt: str, system: str | None, max_tokens: int, temperature: float | None) -> ChatResult:
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        return await self.ask(ChatRequest(messages, max_tokens, temperature))

    async def complete(self, messages: list[dict[str, str]], max_tokens: int, temperature: float | None,
                       runtime: str | None = None, model: str | None = None) -> ChatResult:
        """One answer from the active runtime (or the given one), falling back along VENOM_FALLBACK_ORDER."""
        return await self.ask(ChatRequest(list(messages), max_tokens, temperature), runtime, model)

    async def ask(self, request: ChatRequest, runtime: str | None = None, model: str | None = None) -> ChatResult:
        """One answer: from `request.model`'s runtime, else the given runtime, else the active one; then the
        fallbacks of the plan."""
        for _ in range(RESOLVE_TRIES):
            if runtime is not None and model is not None:
                asked = Asked(runtime, model, f"{model} on {runtime} was asked for", pinned=True)
            else:
                asked = await resolve(self.settings, self.state, self.registry, self.registry.http, request.model)
            try:
                return await self._run(request, asked)
            except _Switched:
                continue  # an activation changed the active model while this request waited: ask the new one
        raise Conflict("the active runtime kept switching while this request waited; send it again")

    async def stream(self, request: ChatRequest) -> ChatStream:
        """The answer as it streams (stream.py): the same plan, gates and governance as `ask`; fallback only until
        the first piece of the answer."""
        return await open_stream(self, request)

    async def _run(self, request: ChatRequest, asked: Asked) -> ChatResult:
        local = await self._capabilities(asked.runtime, asked.model) if not table.spec(asked.runtime).cloud else None
        route = plan(self.settings, self.state, asked, request, local)
        failures = Failures(route.skipped)
        lead = route.candidates[0].runtime
        for index, candidate in enumerate(route.candidates):
            first = index == 0
            wanted = request.with_overrides(self.overrides(candidate.runtime, candidate.model))
            try:
                prepared = await self._prepare(candidate, wanted)
            except InvalidArgument as exc:
                if first:
                    raise  # the request does not suit the model it asked for: say so, no fallback
                failures.append(f"{candidate.runtime} ({candidate.model}) skipped: {exc}")
                continue
            async with self.gates.request(candidate.runtime):
                is_asked = candidate.runtime == asked.runtime
                if is_asked and not asked.pinned and self.state.active() != (asked.runtime, asked.model):
                    raise _Switched
                answer = await self._attempt(candidate, wanted, prepared, failures, None if first else lead)
            if answer is None:
                continue
            if first:
                answer.route_reason = route.reason
            else:
                answer.fallback_from = lead
                answer.route_reason = (f"fallback to {candidate.runtime} ({candidate.model}) after {lead} "
                                       f"failed (VENOM_FALLBACK_ORDER); planned: {route.reason}")
            if request.sensitive and table.spec(candidate.runtime).cloud:
                answer.warnings.append(f"sensitive=true, and {candidate.runtime} is a cloud runtime: the request left "
                                       f"this machine ({answer.route_reason})")
            return answer
        hint = "" if self.settings.fallbacks else " (no fallback configured: VENOM_FALLBACK_ORDER)"
        raise failures.error(self.governance.mask("; ".join(failures) + hint))

    async def _prepare(self, candidate: Candidate, request: ChatRequest) -> _Prepared:
        """The request written for this runtime, once the model is known to take it: tools, context."""
        runtime, model = candidate.runtime, candidate.model
        caps = await self._capabilities(runtime, model)
        if request.tools and request.tool_choice != "none":
            await self._check_tools(runtime, model, caps)
        messages = adapt_messages(request.messages, caps)
        keep_alive: str | None = None
        profile_ctx: int | None = None
        if table.spec(runtime).protocol == "ollama":
            tuning, keep_alive = self.settings.ollama_request()
            profile_ctx = int(str(tuning["num_ctx"]))
            written = ollama_wire(request, messages, tuning)
        else:
            written = openai_wire(runtime, request, messages)
        texts = prompt_texts(messages, request.tools)
        num_ctx = request.num_ctx if runtime == "ollama" else None
        known = window(runtime, caps, num_ctx, profile_ctx, None)
        size, server_max = await self._size(runtime, model, texts, len(messages), known, request.max_tokens)
        room = window(runtime, caps, num_ctx, profile_ctx, server_max)
        check(size, request.max_tokens, room, model, runtime)
        return _Prepared(written, keep_alive, size.tokens)

    async def _size(self, runtime: str, model: str, texts: list[str], messages: int, room: Window | None,
                    max_tokens: int) -> tuple[PromptSize, int | None]:
        """The prompt's tokens, counted by the server's tokenizer where it has one; estimated when it has none, or
        when counting can change nothing: the server reports no context limit of its own (llama.cpp, unlike vLLM)
        and even one token per byte fits the window (a round trip saved before the first token)."""
        endpoint = table.model_endpoint(self.settings, runtime, model)
        sure = self.tokenizers.reports_limit(endpoint) is False and (
            room is None or most(texts, messages) + max_tokens <= room.tokens)
        if runtime in self.tokenizers.ROUTES and not sure:
            counted = await self.tokenizers.count(runtime, endpoint, model, "\n".join(texts))
            if counted is not None:
                return PromptSize(counted[0] + overhead(messages), counted=True), counted[1]
        return estimate(texts, messages), None

    async def _check_tools(self, runtime: str, model: str, caps: Capabilities) -> None:
        """Refuse tools for a local model whose capabilities say it cannot call them (a known no, not a default)."""
        origin = caps.sources.get("supports_function_calling", caps.source)
        if caps.supports_function_calling or origin == "default" or table.spec(runtime).cloud:
            return
        able = await self._tool_models()
        offer = (f"installed models that can: {', '.join(able[:TOOL_MODELS_SHOWN])}; pass one as model=..."
                 if able else "no installed model can; install one with tools (e.g. qwen2.5 or llama3.2 on Ollama)")
        raise InvalidArgument(f"{model} cannot call tools (its capabilities say supports_function_calling=false, "
                              f"{origin}): {offer}, use a cloud model, or drop tools")

    async def _tool_models(self) -> list[str]:
        """The installed models whose capabilities say they can call tools."""
        found = []
        for entry in (await self.registry.installed()).models:
            if (await self.capabilities(entry.name)).supports_function_calling:
                found.append(entry.name)
        return found

    async def _attempt(self, candidate: Candidate, request: ChatRequest, prepared: _Prepared,
                       failures: Failures, fallback_from: str | None) -> ChatResult | None:
        runtime, model = candidate.runtime, candidate.model
        endpoint = self.governance.mask(table.model_endpoint(self.settings, runtime, model))
        try:
            record = await self.governance.admit(runtime, model, endpoint, prepared.prompt_tokens + request.max_tokens,
                                                 fallback_from)
        except GateClosed as exc:
            failures.add(f"{runtime} ({model} at {endpoint}) refused: {exc}", exc.reason)
            return None
        started = time.perf_counter()
        try:
            with span("llm.request", **{"llm.provider": runtime, "llm.model": model, "llm.endpoint": endpoint,
                                        "venom.request_id": record.request_id}):
                reply = await self._send(runtime, model, prepared)
        except Exception as exc:  # each failure moves on along the plan
            self.governance.finish(record, error=exc)
            reason = self.governance.mask(f"{runtime} ({model} at {endpoint}) failed: {record.error}")
            log.warning("%s", reason)
            failures.add(reason, record.reason, exc)
            return None
        self.governance.finish(record, prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens)
        _check_answered(reply, model, request.max_tokens)
        parsed: Any = None
        if request.answer_format is not None and not reply.tool_calls:
            parsed = parse(reply.text, request.answer_format, model=model, finish_reason=reply.finish_reason,
                                      max_tokens=request.max_tokens, mask=self.governance.mask)
        return ChatResult.model_validate(dict(
            text=reply.text, llm_provider=runtime, llm_model=model, llm_endpoint=endpoint,
            latency_ms=round((time.perf_counter() - started) * 1000, 1), finish_reason=reply.finish_reason,
            thinking=reply.thinking, tool_calls=list(reply.tool_calls), parsed=parsed,
            warnings=list(prepared.wire.warnings),
            usage={"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens},
        ))

    async def _send(self, runtime: str, model: str, prepared: _Prepared) -> Reply:
        written = prepared.wire
        if table.spec(runtime).protocol == "ollama":
            return await self.ollama.chat(model, written.messages, written.options, prepared.keep_alive,
                                          wait_seconds=self.settings.llm_timeout_seconds, fields=written.fields)
        spec = table.spec(runtime)
        key = table.api_key(self.settings, runtime)
        if spec.key_env and not key:
            raise ConfigError(f"no API key: set {spec.key_env}")
        # Non-streaming on purpose: llama.cpp reports a template error as HTTP 500 here, but as an empty
        # 200 stream when streaming.
        return await self.clients.chat(base_url=table.model_endpoint(self.settings, runtime, model), api_key=key,
                                       model=model, messages=written.messages, params=written.fields,
                                       extra_body=written.extra_body)


def _check_answered(reply: Reply, model: str, max_tokens: int) -> None:
    """An empty answer is only a success when the model chose to stop (or to call tools); a cut or thought-only one
    is an error. Not a runtime failure, so no fallback: another runtime would spend the same budget the same way.
    """
    if reply.text.strip() or reply.tool_calls:
        return
    if reply.finish_reason == "length":
        spent = "thinking" if reply.thinking else "before it wrote anything"
        raise InvalidArgument(
            f"{model} used all max_tokens={max_tokens} {spent} and gave no answer: raise max_tokens"
            + (" or turn thinking off" if reply.thinking else ""))
    if reply.thinking:
        raise UpstreamError(
            f"{model} stopped ({reply.finish_reason or 'no reason given'}) after its reasoning without writing an "
            "answer: ask again, raise max_tokens, or turn thinking off")
