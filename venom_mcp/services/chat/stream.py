"""Chat as it streams: the plan, request gates, governance, per-model overrides and checks of ChatService.ask, for
an answer passed on piece by piece as the runtime writes it (Ollama's NDJSON, the OpenAI-compatible SSE).

Fallback is possible until the first piece of the answer: the runtimes of the plan are asked in turn until one has
produced something (text, reasoning, a tool call) or ended cleanly, and only then is the stream handed over, so a
consumer learns the runtime that answers before it sends anything. From then on the stream belongs to that runtime:
a failure ends it with an UpstreamError, and nothing else is tried.

The runtime's request gate (an activation waits for it) and the request's history entry stay open while the stream
runs. The entry is closed once the stream ends: with the runtime's token counts when it reports them (Ollama's last
line; OpenAI-compatible servers that honour `stream_options.include_usage`), else with the prompt as counted for the
context check and one token per streamed piece. A consumer that stops early (a client that went away) closes the
upstream request, which stops the generation, and the entry is closed as far as the answer went.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from ...adapters import runtimes as table
from ...adapters.stream import Delta, split_inline_thinking
from ...errors import ConfigError, Conflict, InvalidArgument, UpstreamError
from ...observability import span
from ...records import RequestRecord
from ..governance import GateClosed, Governance
from .failures import Failures
from .request import ChatRequest
from .route import Asked, Candidate, plan, resolve

if TYPE_CHECKING:
    from .service import ChatService, _Prepared

log = logging.getLogger(__name__)
RESOLVE_TRIES = 5


class _Switched(Exception):
    """The active model changed while the request waited at its runtime's gate."""


class StreamBroken(UpstreamError):
    """The runtime failed after the answer had begun: no fallback is possible any more."""


@dataclass(frozen=True)
class StreamRoute:
    """Who answers a stream, known before its first piece is passed on."""

    runtime: str
    model: str
    endpoint: str  # masked
    route_reason: str
    fallback_from: str | None
    warnings: tuple[str, ...]


class ChatStream:
    """One answer as it streams: iterate it for its Deltas (the first ones already received), then read
    `finish_reason` and `usage`. Always `aclose()` it once done, also after reading it to the end: that closes the
    request's history entry (after the consumer has passed the end on, so that writing the ledger does not hold
    the last event back), releases the runtime's gate and, when the consumer stopped early, closes the upstream
    request. A failure of the runtime while iterating raises StreamBroken and closes it at once."""

    def __init__(self, route: StreamRoute, upstream: AsyncIterator[Delta], received: list[Delta],
                 record: RequestRecord, governance: Governance, prompt_tokens: int, gate: AsyncExitStack) -> None:
        self.route = route
        self.finish_reason: str | None = None
        self._upstream = upstream
        self._received = received
        self._record = record
        self._governance = governance
        self._counted_prompt = prompt_tokens
        self._gate = gate
        self._reported: tuple[int | None, int | None] = (None, None)
        self._pieces = 0
        self._recorded = False
        self._complete = False
        self._closed = False
        self._iterator: AsyncGenerator[Delta, None] | None = None
        for delta in received:
            self._note(delta)

    @property
    def usage(self) -> tuple[int, int]:
        """(prompt_tokens, completion_tokens): the runtime's counts where it reported them, else venom-mcp's (the
        prompt as counted for the context check, one token per streamed piece)."""
        prompt, completion = self._reported
        return (prompt if prompt is not None else self._counted_prompt,
                completion if completion is not None else self._pieces)

    def __aiter__(self) -> AsyncIterator[Delta]:
        if self._iterator is None:
            self._iterator = self._deltas()
        return self._iterator

    async def _deltas(self) -> AsyncGenerator[Delta, None]:
        try:
            received, self._received = self._received, []
            for delta in received:
                yield delta
            try:
                async for delta in self._upstream:
                    self._note(delta)
                    yield delta
            except Exception as exc:
                self._record_end(error=exc)
                route = self.route
                raise StreamBroken(self._governance.mask(
                    f"{route.runtime} ({route.model} at {route.endpoint}) failed after the answer began: "
                    f"{self._record.error}")) from exc
        except BaseException:  # failed, cancelled, or closed early by the consumer
            await self.aclose()
            raise
        self._complete = True  # recorded by aclose()

    def _note(self, delta: Delta) -> None:
        if delta.produced:
            self._pieces += 1
        if delta.finish_reason is not None:
            self.finish_reason = delta.finish_reason
        prompt, completion = self._reported
        self._reported = (delta.prompt_tokens if delta.prompt_tokens is not None else prompt,
                          delta.completion_tokens if delta.completion_tokens is not None else completion)

    def _record_end(self, error: BaseException | None = None) -> None:
        if self._recorded:
            return
        self._recorded = True
        if error is not None:
            self._governance.finish(self._record, error=error)
            return
        prompt, completion = self.usage
        self._governance.finish(self._record, prompt_tokens=prompt, completion_tokens=completion)

    async def aclose(self) -> None:
        """End it here: what has not been recorded is recorded as far as it went; the upstream request is closed
        (stopping the generation) and the runtime's gate released. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            if not self._recorded:
                if not self._complete:
                    log.info("stream stopped by its consumer after %d pieces; closing the %s request",
                             self._pieces, self.route.runtime)
                self._record_end()
            try:
                await _close(self._upstream)
                if self._iterator is not None and not getattr(self._iterator, "ag_running", True):
                    await self._iterator.aclose()
            finally:
                await self._gate.aclose()


async def open_stream(chat: ChatService, request: ChatRequest) -> ChatStream:
    """The stream of the first runtime of the plan that starts answering (see the module's docstring)."""
    for _ in range(RESOLVE_TRIES):
        asked = await resolve(chat.settings, chat.state, chat.registry, chat.registry.http, request.model)
        try:
            return await _open(chat, request, asked)
        except _Switched:
            continue  # an activation changed the active model while this request waited: ask the new one
    raise Conflict("the active runtime kept switching while this request waited; send it again")


async def _open(chat: ChatService, request: ChatRequest, asked: Asked) -> ChatStream:
    local = await chat.capabilities(asked.model) if not table.spec(asked.runtime).cloud else None
    route = plan(chat.settings, chat.state, asked, request, local)
    failures = Failures(route.skipped)
    lead = route.candidates[0].runtime
    for index, candidate in enumerate(route.candidates):
        first = index == 0
        wanted = request.with_overrides(chat.overrides(candidate.runtime, candidate.model))
        try:
            prepared = await chat._prepare(candidate, wanted)
        except InvalidArgument as exc:
            if first:
                raise  # the request does not suit the model it asked for: say so, no fallback
            failures.append(f"{candidate.runtime} ({candidate.model}) skipped: {exc}")
            continue
        gate = AsyncExitStack()
        await gate.enter_async_context(chat.gates.request(candidate.runtime))
        try:
            is_asked = candidate.runtime == asked.runtime
            if is_asked and not asked.pinned and chat.state.active() != (asked.runtime, asked.model):
                raise _Switched
            reason = route.reason if first else (
                f"fallback to {candidate.runtime} ({candidate.model}) after {lead} failed (VENOM_FALLBACK_ORDER); "
                f"planned: {route.reason}")
            warnings = list(prepared.wire.warnings)
            if request.sensitive and table.spec(candidate.runtime).cloud:
                warnings.append(f"sensitive=true, and {candidate.runtime} is a cloud runtime: the request left this "
                                f"machine ({reason})")
            opened = await _attempt(chat, candidate, wanted, prepared, failures, gate,
                                    reason, None if first else lead, warnings)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await gate.aclose()
            raise
        if opened is not None:
            return opened
        with anyio.CancelScope(shield=True):
            await gate.aclose()
    hint = "" if chat.settings.fallbacks else " (no fallback configured: VENOM_FALLBACK_ORDER)"
    raise failures.error(chat.governance.mask("; ".join(failures) + hint))


async def _attempt(chat: ChatService, candidate: Candidate, request: ChatRequest, prepared: _Prepared,
                   failures: Failures, gate: AsyncExitStack, reason: str, fallback_from: str | None,
                   warnings: list[str]) -> ChatStream | None:
    """Ask one runtime and wait for the first piece of its answer; None (noted in `failures`) when it fails first."""
    runtime, model = candidate.runtime, candidate.model
    governance = chat.governance
    endpoint = governance.mask(table.model_endpoint(chat.settings, runtime, model))
    try:
        record = await governance.admit(runtime, model, endpoint, prepared.prompt_tokens + request.max_tokens,
                                        fallback_from)
    except GateClosed as exc:
        failures.add(f"{runtime} ({model} at {endpoint}) refused: {exc}", exc.reason)
        return None
    upstream = split_inline_thinking(_send(chat, runtime, model, prepared))
    received: list[Delta] = []
    try:
        with span("llm.request", **{"llm.provider": runtime, "llm.model": model, "llm.endpoint": endpoint,
                                    "venom.request_id": record.request_id, "llm.streaming": "true"}):
            async for delta in upstream:
                received.append(delta)
                if delta.produced:
                    break
    except Exception as exc:  # each failure before the first piece moves on along the plan
        governance.finish(record, error=exc)
        await _close(upstream)
        note = governance.mask(f"{runtime} ({model} at {endpoint}) failed: {record.error}")
        log.warning("%s", note)
        failures.add(note, record.reason, exc)
        return None
    except BaseException:  # cancelled: the consumer went away before the first piece
        governance.finish(record, prompt_tokens=prepared.prompt_tokens, completion_tokens=0)
        await _close(upstream)
        raise
    finish = next((d.finish_reason for d in reversed(received) if d.finish_reason is not None), None)
    if not any(delta.produced for delta in received) and finish in (None, "length"):
        await _ended_empty(chat, candidate, record, upstream, received, failures, prepared, request.max_tokens)
        return None
    return ChatStream(StreamRoute(runtime, model, endpoint, reason, fallback_from, tuple(warnings)), upstream,
                      received, record, governance, prepared.prompt_tokens, gate)


async def _ended_empty(chat: ChatService, candidate: Candidate, record: RequestRecord, upstream: AsyncIterator[Delta],
                       received: list[Delta], failures: Failures, prepared: _Prepared, max_tokens: int) -> None:
    """The runtime ended without a piece of an answer and without a clean stop (which is a legitimate empty answer:
    the caller gets a stream of it). Cut by max_tokens: the caller's error (no fallback: another runtime would spend
    the budget the same way). No finish reason (how llama.cpp streams a template error): a failure, the plan goes
    on (None)."""
    governance = chat.governance
    await _close(upstream)
    if not any(d.finish_reason is not None for d in received):
        error = UpstreamError("the stream ended without an answer or a finish reason (the runtime may have refused "
                              "the request: see its log)")
        governance.finish(record, error=error)
        note = governance.mask(f"{candidate.runtime} ({candidate.model} at {record.llm_endpoint}) failed: "
                               f"{record.error}")
        log.warning("%s", note)
        failures.add(note, record.reason, error)  # it answered, if with nothing
        return None
    prompt = next((d.prompt_tokens for d in reversed(received) if d.prompt_tokens is not None), None)
    completion = next((d.completion_tokens for d in reversed(received) if d.completion_tokens is not None), None)
    governance.finish(record, prompt_tokens=prompt if prompt is not None else prepared.prompt_tokens,
                      completion_tokens=completion if completion is not None else 0)
    raise InvalidArgument(f"{candidate.model} used all max_tokens={max_tokens} before it wrote anything and gave no "
                          "answer: raise max_tokens")


async def _send(chat: ChatService, runtime: str, model: str, prepared: _Prepared) -> AsyncIterator[Delta]:
    written = prepared.wire
    spec = table.spec(runtime)
    if spec.protocol == "ollama":
        source = chat.ollama.chat_stream(model, written.messages, written.options, prepared.keep_alive,
                                         wait_seconds=chat.settings.llm_timeout_seconds, fields=written.fields)
    else:
        key = table.api_key(chat.settings, runtime)
        if spec.key_env and not key:
            raise ConfigError(f"no API key: set {spec.key_env}")
        source = chat.clients.chat_stream(base_url=table.model_endpoint(chat.settings, runtime, model), api_key=key,
                                          model=model,
                                          messages=written.messages, params=written.fields,
                                          extra_body=written.extra_body)
    try:
        async for delta in source:
            yield delta
    finally:
        await _close(source)


async def _close(stream: AsyncIterator[Delta]) -> None:
    """Close an async generator of deltas (and the request under it), even while being cancelled."""
    aclose = getattr(stream, "aclose", None)
    if aclose is None:
        return
    with anyio.CancelScope(shield=True):
        try:
            await aclose()
        except Exception:  # the request is gone either way; a failing close changes nothing for the caller
            log.debug("closing a model stream failed", exc_info=True)
