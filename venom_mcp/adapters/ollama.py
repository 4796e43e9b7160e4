"""The local Ollama REST API (httpx): version, tags, ps, show, chat, streaming pull, delete, load/unload."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import httpx

from ..errors import UpstreamError
from .reply import Reply, split_thinking, tool_call
from .stream import Delta, ToolCallDelta
from .upstream import Upstream, error_text


class OllamaAdapter:
    def __init__(self, host: str, client: httpx.AsyncClient) -> None:
        self.host = host.rstrip("/")
        self._client = client
        self._upstream = Upstream(f"Ollama at {self.host}", "OLLAMA_HOST",
                                  "start it with `ollama serve`, or set OLLAMA_HOST to where it runs")

    def _check(self, response: httpx.Response, path: str) -> None:
        if not response.is_success:
            self._upstream.check(response, not_found=error_text(response) or f"Ollama has no {path}")

    async def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None, wait_seconds: float | None = None
    ) -> Any:
        try:
            response = await self._client.request(
                method, f"{self.host}{path}", json=body,
                timeout=wait_seconds if wait_seconds is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise self._upstream.unreachable(exc) from exc
        self._check(response, path)
        return response.json() if response.content else None

    async def version(self) -> str:
        return str((await self._request("GET", "/api/version"))["version"])

    async def tags(self) -> list[dict[str, Any]]:
        return list((await self._request("GET", "/api/tags")).get("models") or [])

    async def ps(self) -> list[dict[str, Any]]:
        return list((await self._request("GET", "/api/ps")).get("models") or [])

    async def show(self, model: str) -> dict[str, Any]:
        return dict(await self._request("POST", "/api/show", {"model": model}))

    async def delete(self, model: str) -> None:
        await self._request("DELETE", "/api/delete", {"model": model})

    async def load(self, model: str, keep_alive: str | int, options: dict[str, object] | None = None) -> dict[str, Any]:
        """Load a model into memory: /api/generate without a prompt (keep_alive 0 unloads it)."""
        body: dict[str, Any] = {"model": model, "keep_alive": keep_alive}
        if options:
            body["options"] = options
        return dict(await self._request("POST", "/api/generate", body))

    async def chat(
        self, model: str, messages: Sequence[Mapping[str, Any]], options: dict[str, object],
        keep_alive: str | None = None, wait_seconds: float = 120, fields: Mapping[str, Any] | None = None,
    ) -> Reply:
        """One non-streaming /api/chat answer. `fields` are more top-level fields of the request (`format`, `tools`,
        `think`). A thinking model's reasoning comes in `message.thinking` (or, from older servers, inline in
        `<think>` tags); tool calls in `message.tool_calls`, their arguments an object; `done_reason` says why it
        stopped."""
        body: dict[str, Any] = {"model": model, "messages": list(messages), "stream": False, "options": options,
                                **(fields or {})}
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        reply = await self._request("POST", "/api/chat", body, wait_seconds)
        message = reply.get("message") or {}
        text, thinking = split_thinking(str(message.get("content") or ""), message.get("thinking") or None)
        calls = tuple(
            tool_call(call.get("id"), (call.get("function") or {}).get("name"),
                      (call.get("function") or {}).get("arguments"), index)
            for index, call in enumerate(message.get("tool_calls") or []))
        return Reply(text=text, thinking=thinking, finish_reason=reply.get("done_reason"),
                     prompt_tokens=reply.get("prompt_eval_count"), completion_tokens=reply.get("eval_count"),
                     tool_calls=calls)

    async def chat_stream(
        self, model: str, messages: Sequence[Mapping[str, Any]], options: dict[str, object],
        keep_alive: str | None = None, wait_seconds: float = 120, fields: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Delta]:
        """/api/chat with `stream: true`: one Delta per NDJSON line as Ollama writes it (`message.content`,
        `message.thinking`, whole `message.tool_calls`), the last with `done_reason` and the token counts. An
        `{"error": ...}` line raises. `wait_seconds` bounds the wait for each line; leaving the iteration early
        closes the connection, which stops the generation in Ollama."""
        body: dict[str, Any] = {"model": model, "messages": list(messages), "stream": True, "options": options,
                                **(fields or {})}
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        calls = 0
        async for line in self._lines("/api/chat", body, wait_seconds):
            message = line.get("message") or {}
            pieces = []
            for call in message.get("tool_calls") or []:
                found = tool_call(call.get("id"), (call.get("function") or {}).get("name"),
                                  (call.get("function") or {}).get("arguments"), calls)
                arguments = found["arguments"]
                pieces.append(ToolCallDelta(calls, found["id"], found["name"],
                                            arguments if isinstance(arguments, str) else json.dumps(arguments)))
                calls += 1
            done = bool(line.get("done"))
            yield Delta(text=str(message.get("content") or ""), thinking=str(message.get("thinking") or ""),
                        tool_calls=tuple(pieces), finish_reason=(line.get("done_reason") or "stop") if done else None,
                        prompt_tokens=line.get("prompt_eval_count") if done else None,
                        completion_tokens=line.get("eval_count") if done else None)

    async def _lines(self, path: str, body: dict[str, Any], wait_seconds: float) -> AsyncIterator[dict[str, Any]]:
        """The NDJSON lines of a streamed answer; HTTP errors and `{"error": ...}` lines raise."""
        try:
            async with self._client.stream("POST", f"{self.host}{path}", json=body, timeout=wait_seconds) as response:
                if response.status_code >= 400:
                    await response.aread()
                    self._check(response, path)
                async for text in response.aiter_lines():
                    if not text.strip():
                        continue
                    try:
                        line = json.loads(text)
                    except ValueError as exc:
                        raise UpstreamError(f"Ollama sent a line that is not JSON: {text[:200]!r}") from exc
                    if "error" in line:
                        raise UpstreamError(f"Ollama failed while answering: {line['error']}")
                    yield line
        except httpx.HTTPError as exc:
            raise self._upstream.broke_off(exc, "Ollama's answer") from exc

    async def pull(self, model: str) -> AsyncIterator[dict[str, Any]]:
        """The NDJSON progress lines of a pull, as Ollama sends them. An `{"error": ...}` line raises."""
        try:
            async with self._client.stream(
                "POST", f"{self.host}/api/pull", json={"model": model, "stream": True}, timeout=httpx.Timeout(
                    30, read=None)
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise UpstreamError(f"Ollama refused the pull of {model}: {error_text(response)}")
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    if "error" in event:
                        raise UpstreamError(f"Ollama could not pull {model}: {event['error']}")
                    yield event
        except httpx.HTTPError as exc:
            raise self._upstream.broke_off(exc, f"the pull of {model}") from exc

