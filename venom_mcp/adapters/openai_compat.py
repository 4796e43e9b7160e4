"""OpenAI-compatible servers (vLLM, llama.cpp, OpenAI, Gemini): what they serve, their tokenizers, and one chat
completion, whole or streamed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import httpx

from ..errors import UpstreamError
from .reply import Reply, split_thinking, tool_call
from .stale_connections import KEEPALIVE_EXPIRY_S
from .stream import Delta, ToolCallDelta
from .upstream import Upstream


async def served_models(client: httpx.AsyncClient, endpoint: str, wait_seconds: float = 5) -> list[str]:
    """The model ids `GET {endpoint}/models` lists as ready to answer; UpstreamError when the server does not answer
    properly. llama-server in router mode lists every model it could load, each with a `status`: only a loaded one
    (or one asleep, which wakes on the next request) is served; unloaded, loading, downloading or failed ones are not.
    """
    upstream = Upstream(f"the OpenAI-compatible server at {endpoint}")
    try:
        response = await client.get(f"{endpoint}/models", timeout=wait_seconds)
    except httpx.HTTPError as exc:
        raise upstream.unreachable(exc) from exc
    upstream.check(response, "GET /models")
    try:
        return [str(m["id"]) for m in response.json().get("data", []) if _ready(m.get("status"))]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        kind = type(exc).__name__
        raise UpstreamError(f"{endpoint} is not answering as an OpenAI-compatible server ({kind})") from exc


def _ready(status: object) -> bool:
    if not isinstance(status, dict):  # a single-model server, vLLM or a cloud: every listed model is served
        return True
    return status.get("value") in ("loaded", "sleeping") and not status.get("failed")


# The request fields the OpenAI SDK takes as arguments (the others go in extra_body); the parameter table
# (generation.py) says which ones each runtime accepts.
STANDARD = frozenset({"max_tokens", "max_completion_tokens", "temperature", "top_p", "seed", "stop", "response_format",
                      "tools", "tool_choice", "reasoning_effort"})


class Tokenizers:
    """Token counts from the server's own tokenizer, where it offers one: vLLM's and llama-server's `POST /tokenize`,
    llama-cpp-python's `POST /extras/tokenize` (beside the `/v1` of the endpoint). A server without one gives None,
    and is not asked again."""

    ROUTES: Mapping[str, tuple[str, ...]] = {"vllm": ("/tokenize",), "llamacpp": ("/tokenize", "/extras/tokenize")}

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self._route: dict[str, str | None] = {}  # endpoint -> the route that answered (None: none does)
        self._limit: dict[str, bool] = {}  # endpoint -> whether its tokenizer also reports the context limit

    def reports_limit(self, endpoint: str) -> bool | None:
        """Whether the endpoint's tokenizer also says the server's context limit (vLLM's max_model_len); None until
        it has answered once."""
        return self._limit.get(endpoint)

    async def count(self, runtime: str, endpoint: str, model: str, text: str,
                    wait_seconds: float = 5) -> tuple[int, int | None] | None:
        """(tokens of `text`, the server's context length when it says it: vLLM's max_model_len), or None."""
        root = endpoint.rstrip("/").removesuffix("/v1")
        known = self._route.get(endpoint, "")
        routes = () if known is None else (known,) if known else self.ROUTES.get(runtime, ())
        for route in routes:
            body = ({"model": model, "prompt": text} if runtime == "vllm" else
                    {"input": text, "model": model} if route == "/extras/tokenize" else {"content": text})
            try:
                response = await self._client.post(root + route, json=body, timeout=wait_seconds)
                data = response.json() if response.status_code == 200 else None
                tokens = data.get("tokens") if isinstance(data, dict) else None
            except (httpx.HTTPError, ValueError):
                tokens = None
            if isinstance(tokens, list):
                self._route[endpoint] = route
                limit = data.get("max_model_len") if isinstance(data, dict) else None
                self._limit[endpoint] = isinstance(limit, int)
                return len(tokens), limit if isinstance(limit, int) else None
        if routes:
            self._route[endpoint] = None
        return None


class OpenAIClients:
    """One `openai.AsyncOpenAI` per (base URL, key), so connections are reused between calls."""

    def __init__(self, request_seconds: float) -> None:
        self._seconds = request_seconds
        self._clients: dict[tuple[str, str], Any] = {}

    def get(self, base_url: str, api_key: str | None) -> Any:
        import httpx2  # the openai SDK's HTTP library
        from openai import AsyncOpenAI, DefaultAsyncHttpxClient

        key = (base_url, api_key or "")
        if key not in self._clients:
            # max_retries=0: fallback to another runtime is our policy, not the SDK's silent retry. The SDK's pool
            # with idle connections let go before a local server closes them (see stale_connections).
            pool = DefaultAsyncHttpxClient(limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=100,
                                                                keepalive_expiry=KEEPALIVE_EXPIRY_S))
            self._clients[key] = AsyncOpenAI(base_url=base_url, api_key=api_key or "not-needed",
                                             timeout=self._seconds, max_retries=0, http_client=pool)
        return self._clients[key]

    async def chat(self, *, base_url: str, api_key: str | None, model: str, messages: Sequence[Mapping[str, Any]],
                   params: Mapping[str, object], extra_body: Mapping[str, object] | None = None) -> Reply:
        """One chat completion. Parameters outside the SDK's arguments (repetition_penalty, top_k...) go in
        extra_body, with `extra_body`. Reasoning comes as `reasoning_content` (llama.cpp, DeepSeek, older vLLM) or
        `reasoning` (newer vLLM), fields the SDK keeps as extras, or inline in `<think>` tags when the server has no
        reasoning parser. Tool calls come with their arguments as a JSON string, parsed here."""
        request = _request(model, messages, params, extra_body)
        response = await self.get(base_url, api_key).chat.completions.create(**request)
        usage = response.usage
        choice = response.choices[0]
        extras = choice.message.model_extra or {}
        reasoning = extras.get("reasoning_content") or extras.get("reasoning")
        text, thinking = split_thinking(str(choice.message.content or ""), str(reasoning) if reasoning else None)
        calls = tuple(
            tool_call(call.id, getattr(call.function, "name", None), getattr(call.function, "arguments", None), index)
            for index, call in enumerate(choice.message.tool_calls or []))
        return Reply(text=text, thinking=thinking, finish_reason=choice.finish_reason,
                     prompt_tokens=usage.prompt_tokens if usage else None,
                     completion_tokens=usage.completion_tokens if usage else None, tool_calls=calls)

    async def chat_stream(self, *, base_url: str, api_key: str | None, model: str,
                          messages: Sequence[Mapping[str, Any]], params: Mapping[str, object],
                          extra_body: Mapping[str, object] | None = None) -> AsyncIterator[Delta]:
        """One chat completion as it streams (`stream: true`, with `stream_options.include_usage` so that the last
        chunk carries the usage where the server supports it): one Delta per chunk, reasoning and tool-call pieces
        as the server sends them. Leaving the iteration early closes the response, which stops the generation.

        The SDK sends the request (its public `post`, with the body as written: the typed `create` would first walk
        every message through its parameter transform, a millisecond before the first token for nothing, since the
        body is plain JSON already) and raises its errors (HTTP status, connection) as `create` does; the chunks are
        read as JSON here, since building the SDK's typed chunk objects costs more than all the rest a gateway does
        with a chunk. An `{"error": ...}` event (a failure after the stream began) raises UpstreamError."""
        import httpx2  # the openai SDK's HTTP library: its own response type

        request = _request(model, messages, params, extra_body)
        extra = request.pop("extra_body", {})  # the SDK's extra_body: merged over the standard fields
        body = {**request, "stream": True, "stream_options": {"include_usage": True}, **extra}
        response = await self.get(base_url, api_key).post("/chat/completions", cast_to=httpx2.Response, body=body,
                                                         stream=True)
        try:
            done = False
            async for data in _sse_data(response.aiter_lines()):
                if done or data == "[DONE]":
                    done = True  # read on to the end of the body, so that the connection goes back to the pool
                    continue
                chunk = json.loads(data)
                if not isinstance(chunk, dict):
                    continue
                if chunk.get("error"):
                    error = chunk["error"]
                    raise UpstreamError(f"the server failed while answering: "
                                        f"{error.get('message') if isinstance(error, dict) else error}")
                for choice in (chunk.get("choices") or [])[:1]:
                    yield _delta(choice)
                usage = chunk.get("usage")
                if isinstance(usage, dict):
                    yield Delta(prompt_tokens=usage.get("prompt_tokens"),
                                completion_tokens=usage.get("completion_tokens"))
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()


def _request(model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, object],
             extra_body: Mapping[str, object] | None) -> dict[str, Any]:
    """The SDK's arguments: the standard fields as they are, every other one in extra_body."""
    request: dict[str, Any] = {"model": model, "messages": list(messages)}
    request.update({k: v for k, v in params.items() if k in STANDARD})
    extra = {**{k: v for k, v in params.items() if k not in STANDARD}, **(extra_body or {})}
    if extra:
        request["extra_body"] = extra
    return request


def _delta(choice: Mapping[str, Any]) -> Delta:
    """One streamed choice: content, reasoning (`reasoning_content` or `reasoning`), tool-call pieces."""
    delta = choice.get("delta") or {}
    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
    calls = tuple(
        ToolCallDelta(int(call.get("index") or 0), call.get("id"), (call.get("function") or {}).get("name"),
                      (call.get("function") or {}).get("arguments") or "")
        for call in delta.get("tool_calls") or [] if isinstance(call, dict))
    return Delta(text=str(delta.get("content") or ""), thinking=str(reasoning) if reasoning else "", tool_calls=calls,
                 finish_reason=choice.get("finish_reason"))


async def _sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The `data` of each server-sent event (its `data:` lines joined), as the SSE format defines it."""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield "\n".join(data)
