"""The OpenAI-compatible gateway of `serve --transport http`: `GET /v1/models`, `GET /v1/models/{model}` and
`POST /v1/chat/completions` (whole or streamed), so that any OpenAI client (the `openai` SDK, Semantic Kernel's
OpenAIChatCompletion, an agent framework) can use the models venom-mcp manages.

A chat goes through the chat service itself, the one the `chat` tool calls (governance, routing, per-model config,
capability adaptation, the context check, fallback): the request is read into the same ChatRequest (openai_api.py).
A tool answers once, and a stream is not a tool result, so this face sits on the service rather than on the tool
catalog; the catalog still lists the installed models. The same token and Host/Origin rules as the rest of the HTTP
face apply (they sit in front of every route); their refusals on /v1/ are OpenAI-shaped too.

Every answer names the runtime that gave it: `x-venom-llm-provider`, `x-venom-llm-model`, `x-venom-llm-endpoint`
(plus `x-venom-fallback-from` after a fallback, `x-venom-warnings` with what the runtime could not honour, and
`x-venom-ignored-params`). A stream's headers are sent with its first piece, once a runtime has started answering;
a runtime that fails before that is replaced by the next one of the plan, and one that fails after it ends the
stream with an OpenAI error event and no `[DONE]`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

import anyio
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from ..adapters import runtimes as table
from ..errors import UpstreamError
from ..jsontext import JsonRefused, loads
from ..services.chat import ChatStream
from .openai_api import (
    DONE,
    Chunks,
    OpenAIError,
    as_openai_error,
    completion,
    error_event,
    ignored,
    new_id,
    read_request,
)

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import Receive, Scope, Send

    from ..app import App

def routes(app: App) -> list[Route]:
    """The gateway's routes, for the HTTP app."""
    gateway = Gateway(app)
    return [Route("/v1/models", gateway.models, methods=["GET"], name="openai_models"),
            Route("/v1/models/{model_name:path}", gateway.model, methods=["GET"], name="openai_model"),
            Route("/v1/chat/completions", gateway.chat_completions, methods=["POST"], name="openai_chat_completions")]


def failure(error: OpenAIError) -> Response:
    return JSONResponse(error.body(), status_code=error.status)


def _header(value: str) -> str:
    """A header value as ASCII (a model name or endpoint could hold anything)."""
    return value.encode("ascii", "backslashreplace").decode("ascii").replace("\r", " ").replace("\n", " ")


def route_headers(provider: str, model: str, endpoint: str, fallback_from: str | None, warnings: list[str],
                  unused: list[str]) -> dict[str, str]:
    headers = {"x-venom-llm-provider": provider, "x-venom-llm-model": model, "x-venom-llm-endpoint": endpoint}
    if fallback_from:
        headers["x-venom-fallback-from"] = fallback_from
    if warnings:
        headers["x-venom-warnings"] = json.dumps(warnings)
    if unused:
        headers["x-venom-ignored-params"] = ",".join(unused)
    return {name: _header(value) for name, value in headers.items()}


class Gateway:
    def __init__(self, app: App) -> None:
        self.app = app

    async def _listed(self) -> list[dict[str, Any]]:
        """Installed models the profile allows (owned_by: their runtime), then the cloud models that can answer
        (the configured or default model of each cloud runtime whose API key is set, and the active one)."""
        from ..tools import ToolCatalog

        settings, state = self.app.settings, self.app.runtime_state
        installed = await ToolCatalog(self.app).installed_models()
        data: dict[str, dict[str, Any]] = {}
        for entry in installed.models:
            if entry.activatable and entry.name not in data:
                created = int(entry.installed_at.timestamp()) if entry.installed_at else 0
                data[entry.name] = {"id": entry.name, "object": "model", "created": created, "owned_by": entry.runtime}
        active_runtime, active_model = state.active()
        for runtime in table.CLOUD_RUNTIMES:
            if runtime not in table.exposed(settings.runtime_profile) or not table.api_key(settings, runtime):
                continue
            names = [state.configured(runtime) or table.spec(runtime).default_model]
            names += [active_model] if active_runtime == runtime else []
            for name in names:
                if name and name not in data:
                    data[name] = {"id": name, "object": "model", "created": 0, "owned_by": runtime}
        return list(data.values())

    async def models(self, request: Request) -> Response:
        try:
            data = await self._listed()
        except Exception as exc:
            return failure(as_openai_error(exc))
        return JSONResponse({"object": "list", "data": data})

    async def model(self, request: Request) -> Response:
        name = request.path_params["model_name"]
        try:
            found = next((m for m in await self._listed() if m["id"] == name), None)
        except Exception as exc:
            return failure(as_openai_error(exc))
        if found is None:
            return failure(OpenAIError(404, f"The model `{name}` does not exist: GET /v1/models lists the installed "
                                            "and configured ones", param="model", code="model_not_found"))
        return JSONResponse(found)

    async def chat_completions(self, request: Request) -> Response:
        try:
            try:
                body = loads(await request.body() or b"{}")
            except JsonRefused as exc:
                raise OpenAIError(400, f"the body is refused: {exc}; send a JSON object") from exc
            chat_request, asked = read_request(body)
            unused = ignored(asked)
            if not asked.stream:
                result = await self.app.chat.ask(chat_request)
                headers = route_headers(result.llm_provider, result.llm_model, result.llm_endpoint,
                                        result.fallback_from, result.warnings, unused)
                return JSONResponse(completion(result, new_id()), headers=headers)
            stream = await self.app.chat.stream(chat_request)
        except Exception as exc:
            return failure(as_openai_error(exc))
        route = stream.route
        headers = route_headers(route.runtime, route.model, route.endpoint, route.fallback_from,
                                list(route.warnings), unused)
        include_usage = bool(asked.stream_options and asked.stream_options.include_usage)
        return EventStream(stream, Chunks(new_id(), route.model, include_usage), include_usage, headers)


class EventStream(StreamingResponse):
    """Server-sent events of one streamed answer. Whatever ends it (the last event, a failure, a client that went
    away), the chat stream is closed: the runtime's request with it, if it was still running."""

    def __init__(self, stream: ChatStream, chunks: Chunks, include_usage: bool, headers: dict[str, str]) -> None:
        self._chat = stream
        self._events = _events(stream, chunks, include_usage)
        super().__init__(self._events, media_type="text/event-stream",
                         headers={**headers, "cache-control": "no-cache", "x-accel-buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self._events.aclose()
                await self._chat.aclose()


async def _events(stream: ChatStream, chunks: Chunks, include_usage: bool) -> AsyncGenerator[bytes, None]:
    """The SSE body: one event per delta (the first one also names the role), the finish reason, the usage if
    asked for, `[DONE]`."""
    try:
        async for delta in stream:
            event = chunks.delta(delta)
            if event is not None:
                yield event
    except (UpstreamError, OpenAIError) as exc:
        yield error_event(as_openai_error(exc) if isinstance(exc, OpenAIError) else
                          OpenAIError(502, str(exc), "api_error", code="upstream_error"))
        return
    except Exception as exc:
        yield error_event(as_openai_error(exc))
        return
    yield chunks.finish(stream.finish_reason) + (chunks.usage(*stream.usage) if include_usage else b"") + DONE
