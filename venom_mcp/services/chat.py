"""Chat through the active runtime (or a given one) with fallback: used by the chat tool, translation and news.

Every attempt passes the profile gate and the governance gate (limits, budgets), holds its runtime's request gate
(so an activation waits for it, and it waits for an activation), and lands in the request history. Ollama
requests carry the Ollama profile's num_ctx and keep_alive, so the tuning reaches any Ollama, not only one
venom-mcp started.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ..adapters import runtimes as table
from ..adapters.ollama import OllamaAdapter
from ..adapters.openai_compat import OpenAIClients
from ..adapters.reply import Reply
from ..config import Settings
from ..errors import ConfigError, Conflict, InvalidArgument, NotFound, UpstreamError
from ..observability import span
from ..records import Capabilities, ChatResult
from . import profile
from .capabilities import adapt_messages
from .governance import GateClosed, Governance
from .registry import ModelRegistry
from .runtime_state import RequestGates, RuntimeState

log = logging.getLogger(__name__)
RESOLVE_TRIES = 5


class _Switched(Exception):
    """The active model changed while a request waited at its runtime's gate."""


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

    async def chat(self, prompt: str, system: str | None, max_tokens: int, temperature: float | None) -> ChatResult:
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        return await self.complete(messages, max_tokens, temperature)

    async def complete(self, messages: list[dict[str, str]], max_tokens: int, temperature: float | None,
                       runtime: str | None = None, model: str | None = None) -> ChatResult:
        """One answer from the active runtime (or the given one), falling back along VENOM_FALLBACK_ORDER."""
        for _ in range(RESOLVE_TRIES):
            target, name = (runtime, model) if runtime is not None else self.active()
            try:
                return await self._complete(messages, max_tokens, temperature, target, name, runtime is None)
            except _Switched:
                continue  # an activation changed the active model while this request waited: ask the new one
        raise Conflict("the active runtime kept switching while this request waited; send it again")

    async def _complete(self, messages: list[dict[str, str]], max_tokens: int, temperature: float | None,
                        runtime: str, model: str | None, follow_active: bool) -> ChatResult:
        order = [runtime] + [r for r in self.settings.fallbacks if r != runtime]
        failures: list[str] = []
        estimated = sum(len(m["content"]) for m in messages) // 4 + max_tokens
        for candidate in order:
            if candidate not in table.RUNTIMES:
                failures.append(f"{candidate}: not a runtime (VENOM_FALLBACK_ORDER)")
                continue
            if not profile.allowed(self.settings, candidate):
                failures.append(profile.refusal(self.settings, candidate, "requests"))
                continue
            name = model if candidate == runtime else (
                self.state.configured(candidate) or table.spec(candidate).default_model)
            if name is None:
                failures.append(f"{candidate}: no model configured")
                continue
            async with self.gates.request(candidate):
                if follow_active and candidate == runtime and self.state.active() != (runtime, model):
                    raise _Switched
                answer = await self._attempt(candidate, name, messages, max_tokens, temperature, estimated, failures)
            if answer is not None:
                if candidate != runtime:
                    answer.fallback_from = runtime
                return answer
        hint = "" if self.settings.fallbacks else " (no fallback configured: VENOM_FALLBACK_ORDER)"
        raise UpstreamError(self.governance.mask("; ".join(failures) + hint))

    async def _attempt(self, runtime: str, model: str, messages: list[dict[str, str]], max_tokens: int,
                       temperature: float | None, estimated: int, failures: list[str]) -> ChatResult | None:
        endpoint = self.governance.mask(table.endpoint(self.settings, runtime))
        try:
            record = await self.governance.admit(runtime, model, endpoint, estimated)
        except GateClosed as exc:
            failures.append(f"{runtime} ({model} at {endpoint}) refused: {exc}")
            return None
        started = time.perf_counter()
        try:
            with span("llm.request", **{"llm.provider": runtime, "llm.model": model, "llm.endpoint": endpoint,
                                        "venom.request_id": record.request_id}):
                reply = await self._ask(runtime, model, messages, max_tokens, temperature)
        except Exception as exc:  # each failure moves on along the fallback order
            self.governance.finish(record, error=exc)
            reason = self.governance.mask(f"{runtime} ({model} at {endpoint}) failed: {record.error}")
            log.warning("%s", reason)
            failures.append(reason)
            return None
        self.governance.finish(record, prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens)
        _check_answered(reply, model, max_tokens)
        return ChatResult.model_validate(dict(
            text=reply.text, llm_provider=runtime, llm_model=model, llm_endpoint=endpoint,
            latency_ms=round((time.perf_counter() - started) * 1000, 1), finish_reason=reply.finish_reason,
            thinking=reply.thinking,
            usage={"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens},
        ))

    async def _ask(self, runtime: str, model: str, messages: list[dict[str, str]], max_tokens: int,
                   temperature: float | None) -> Reply:
        messages = adapt_messages(messages, await self.capabilities(model))
        wanted: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature}
        if table.spec(runtime).protocol == "ollama":
            tuning, keep_alive = self.settings.ollama_request()
            options, _ = table.map_parameters(runtime, {**tuning, **wanted})
            return await self.ollama.chat(model, messages, options, keep_alive,
                                          wait_seconds=self.settings.llm_timeout_seconds)
        spec = table.spec(runtime)
        key = table.api_key(self.settings, runtime)
        if spec.key_env and not key:
            raise ConfigError(f"no API key: set {spec.key_env}")
        params, _ = table.map_parameters(runtime, wanted)
        # Non-streaming on purpose: llama.cpp reports a template error as HTTP 500 here, but as an empty
        # 200 stream when streaming.
        return await self.clients.chat(base_url=table.endpoint(self.settings, runtime), api_key=key, model=model,
                                       messages=messages, params=params)


def _check_answered(reply: Reply, model: str, max_tokens: int) -> None:
    """An empty answer is only a success when the model chose to stop; a cut or thought-only one is an error.

    Not a runtime failure, so no fallback: another runtime would spend the same budget the same way.
    """
    if reply.text.strip():
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
