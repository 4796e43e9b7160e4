"""A fake OpenAI-compatible chat server (Starlette app): stand-in for OpenAI and for Gemini's OpenAI endpoint.

Shapes follow the OpenAI REST API (https://platform.openai.com/docs/api-reference/chat), so that the official
``openai`` Python client works against it. The same routes are served under every prefix of :data:`PREFIXES`:
``/v1`` (``base_url=<url>/v1``, like ``https://api.openai.com/v1``) and ``/v1beta/openai`` (``base_url=
<url>/v1beta/openai/``, like ``https://generativelanguage.googleapis.com/v1beta/openai/``).

* ``GET  {prefix}/models``              ``{"object": "list", "data": [{"id", "object": "model", "created",
                                        "owned_by"}]}``; under the Gemini prefix the ids read ``models/<id>``
                                        (see :attr:`FakeOpenAI.gemini_model_prefix`)
* ``GET  {prefix}/models/{id}``         one model, or 404 ``model_not_found``
* ``POST {prefix}/chat/completions``    a ``chat.completion`` object, or with ``"stream": true`` SSE
                                        ``data: {chat.completion.chunk}`` lines: a role chunk, content (or
                                        tool-call) deltas, a chunk with ``finish_reason``, a usage chunk when
                                        ``stream_options.include_usage`` is set, then ``data: [DONE]``
* ``POST /tokenize``                    only with :attr:`FakeOpenAI.max_model_len` set: a local server's tokenizer
                                        (vLLM's or llama-server's shape)

Replies come from :attr:`FakeOpenAI.queue` (scripted with ``enqueue_text`` / ``enqueue_tool_call``, like
simonw/llm's ``MockModel.enqueue``), oldest first; with an empty queue the reply is ``echo: <last user message>``,
``tool result: <content>`` after a tool message, or, when ``tools`` are offered, a call of the named or first tool
if ``tool_choice`` requires one or the last user message mentions "weather" (arguments from its parameters schema).
``response_format`` ``json_object`` answers ``{"answer": <reply>}``, ``json_schema`` (or llama-server's
``json_object`` with a ``schema``) a value matching the schema (scripted replies come as they are: a model that breaks
the format). ``reasoning_effort`` is taken by the models of :attr:`FakeOpenAI.reasoning_models` only, which in turn
refuse ``max_tokens`` (``max_completion_tokens`` instead), as OpenAI's reasoning models do (Gemini's take it); their
hidden reasoning shows in ``usage.completion_tokens_details.reasoning_tokens``.
``max_tokens`` / ``max_completion_tokens`` cut the reply (``finish_reason: "length"``).

Errors use OpenAI's shape ``{"error": {"message", "type", "param", "code"}}``: 401 ``invalid_api_key`` when
:attr:`FakeOpenAI.api_key` is set and the request lacks ``Authorization: Bearer <api_key>``, 404
``model_not_found`` for an unknown model, 400 for a malformed request (also a bad ``response_format``, a strict
json_schema whose objects do not all set ``additionalProperties: false`` and require every property, ``tool_choice``
without ``tools``, an unsupported ``reasoning_effort``), 404 ``Invalid URL`` for unknown routes.
Fault injection: set ``fake.fault`` (see :data:`FAULTS` and :class:`FakeOpenAI`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.fakes.schema_example import example

Fault = Literal["error", "slow", "not_found", "rate_limit", "stream_cut"]
FAULTS: tuple[str, ...] = ("error", "slow", "not_found", "rate_limit", "stream_cut")

OPENAI_PREFIX = "/v1"
GEMINI_PREFIX = "/v1beta/openai"
PREFIXES: tuple[str, ...] = (OPENAI_PREFIX, GEMINI_PREFIX)
DEFAULT_MODELS: tuple[str, ...] = ("gpt-4o-mini", "gemini-2.0-flash")
# Models that take reasoning_effort (and refuse max_tokens); list them in ``models`` too to serve them.
REASONING_MODELS: tuple[str, ...] = ("o4-mini", "gpt-5-mini", "gemini-2.5-flash")
REASONING_EFFORTS: tuple[str, ...] = ("none", "minimal", "low", "medium", "high")
EFFORT_TOKENS = {"none": 0, "minimal": 4, "low": 8, "medium": 16, "high": 32}
SYSTEM_FINGERPRINT = "fp_fake0001"
MODEL_CREATED = 1_721_172_741  # 2024-07-16, a fixed "created" for every listed model

SERVER_ERROR_MESSAGE = "The server had an error while processing your request. Sorry about that!"
MISSING_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer "
    "auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're "
    "accessing the API from your browser and are prompted for a username and password. You can obtain an API "
    "key from https://platform.openai.com/account/api-keys."
)

_PIECE = re.compile(r"\s*\S+|\s+")


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def openai_error(
    message: str,
    status: int,
    *,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An error answer in OpenAI's shape."""
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def mask_key(key: str) -> str:
    """A key as OpenAI's 401 message shows it: ``sk-abc***********wxyz``."""
    if len(key) <= 8:
        return "*" * len(key)
    return key[:3] + "*" * (len(key) - 7) + key[-4:]


def _pieces(text: str) -> list[str]:
    """Stream pieces (words with their leading whitespace); ``"".join(_pieces(t)) == t``."""
    return _PIECE.findall(text)


def _count_tokens(text: str) -> int:
    return len(_pieces(text))


def _content_text(content: Any) -> str:
    """The text of a message ``content``: a string, or a list of content parts (``{"type": "text", ...}``)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


class _AbortConnection(Exception):
    """Raised inside a streamed answer: the connection is dropped mid-body (see _Instrument)."""


class _BadRequest(Exception):
    def __init__(self, message: str, *, param: str | None = None, code: str | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.status = status

    def response(self) -> JSONResponse:
        return openai_error(self.message, self.status, param=self.param, code=self.code)


def _strict_problem(schema: Any, where: str = "()") -> str | None:
    """Why OpenAI's strict mode refuses a schema: every object sets additionalProperties false and requires every
    property. None when it takes it."""
    if not isinstance(schema, dict):
        return None
    if schema.get("type") == "object" or "properties" in schema:
        if schema.get("additionalProperties") is not False:
            return f"In context={where}, 'additionalProperties' is required to be supplied and to be false."
        missing = [k for k in schema.get("properties") or {} if k not in (schema.get("required") or [])]
        if missing:
            return (f"In context={where}, 'required' is required to be supplied and to be an array including every "
                    f"key in properties. Missing '{missing[0]}'.")
    for key, sub in (schema.get("properties") or {}).items():
        if (problem := _strict_problem(sub, f"('properties', '{key}')")) is not None:
            return problem
    return _strict_problem(schema.get("items"), "('items',)") if "items" in schema else None


def _model_not_found(model: str) -> _BadRequest:
    return _BadRequest(
        f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found", status=404
    )


@dataclass
class ScriptedReply:
    """One queued reply: text, or tool calls (``[{"id", "type": "function", "function": {"name", "arguments"}}]``,
    ``arguments`` a JSON string, as the API sends it)."""

    content: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    reasoning: str | None = None  # sent as ``reasoning_content`` (llama.cpp's and DeepSeek's field), before the text


# --------------------------------------------------------------------------------------------------
# the app
# --------------------------------------------------------------------------------------------------


class _Instrument:
    """ASGI wrapper: records every request, checks the API key, injects faults."""

    def __init__(self, app: ASGIApp, fake: FakeOpenAI) -> None:
        self.app = app
        self.fake = fake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fake = self.fake
        path: str = scope["path"]
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client went away before sending the body
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        body: dict[str, Any]
        try:
            parsed = json.loads(raw) if raw.strip() else {}
            body = parsed if isinstance(parsed, dict) else {"_json": parsed}
        except ValueError:
            body = {"_invalid_json": raw.decode("utf-8", "replace")}
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        auth = headers.get("authorization")
        if auth is not None:
            scheme, _, token = auth.partition(" ")
            headers["authorization"] = f"{scheme} {mask_key(token.strip())}"
        fake.hits[path] += 1
        fake.requests.append({"method": scope["method"], "path": path, "headers": headers, "body": body})
        fake.auth_headers.append(auth)

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        denied = fake.check_auth(auth)
        if denied is not None:
            await denied(scope, replay, send)
            return
        fault = fake.fault
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS}")
        if fault == "slow":
            await asyncio.sleep(fake.slow_seconds)
        elif fault == "error":
            await openai_error(SERVER_ERROR_MESSAGE, 500, type_="server_error")(scope, replay, send)
            return
        elif fault == "not_found":
            model = str(body.get("model") or path.rsplit("/", 1)[-1])
            await _model_not_found(model).response()(scope, replay, send)
            return
        elif fault == "rate_limit":
            model = str(body.get("model") or "gpt-4o-mini")
            text = (
                f"Rate limit reached for {model} in organization org-fake on requests per min (RPM): Limit 3, "
                f"Used 3, Requested 1. Please try again in {fake.retry_after}s."
            )
            response = openai_error(
                text,
                429,
                type_="requests",
                param="requests",
                code="rate_limit_exceeded",
                headers={"retry-after": str(fake.retry_after), "x-ratelimit-remaining-requests": "0"},
            )
            await response(scope, replay, send)
            return
        try:
            await self.app(scope, replay, send)
        except* _AbortConnection:
            # Returning without finishing the response makes uvicorn close the socket mid-body:
            # the client sees an incomplete chunked read (httpx.RemoteProtocolError).
            pass


async def _invalid_url(request: Request, exc: Exception) -> Response:
    return openai_error(f"Invalid URL ({request.method} {request.url.path})", 404)


class FakeOpenAI:
    """State + Starlette app of a fake OpenAI-compatible server.

    Constructor: ``FakeOpenAI(models=DEFAULT_MODELS, *, api_key=None, owned_by="system", token_delay=0.0,
    slow_seconds=5.0, retry_after=20)``. ``reset()`` restores that state (and empties queue and records).

    Attributes (all mutable from tests):
      models:        served model ids (``GET /models`` lists them; chat with any other model -> 404)
      api_key:       None: any (or no) key is accepted; a string: requests need ``Authorization: Bearer
                     <api_key>``, else 401 (``code: "invalid_api_key"`` for a wrong key, ``code: null`` with
                     OpenAI's "You didn't provide an API key" message when the header is missing)
      fault:         None | "error" | "slow" | "not_found" | "rate_limit" | "stream_cut", applied to every route after
                     the key check (stream_cut: to streamed chat completions only)
                     error:      500 ``server_error``
                     slow:       sleep ``slow_seconds`` then answer normally
                     not_found:  404 ``model_not_found`` (the body's model, or the last path segment)
                     rate_limit: 429 ``rate_limit_exceeded`` with ``retry-after: <retry_after>``
                     stream_cut: a streamed answer sends its role chunk and first content piece, then the
                                 connection drops (no ``[DONE]``: the client sees an incomplete chunked read)
      slow_seconds:  delay of the ``slow`` fault
      retry_after:   seconds in the ``retry-after`` header of the ``rate_limit`` fault
      token_delay:   seconds slept before each streamed content piece
      owned_by:      ``owned_by`` of listed models (Gemini's prefix always says ``google``)
      gemini_model_prefix: prefix of the ids listed under :data:`GEMINI_PREFIX` (Gemini lists ``models/<id>``);
                     under that prefix a request may name the model with or without it
      reasoning_models: model ids that take ``reasoning_effort`` (and refuse ``max_tokens``)
      max_model_len: None (OpenAI, Gemini): ``POST /tokenize`` is an unknown route; a number: the server's own
                     tokenizer beside ``/v1`` as vLLM serves it (``{"model", "prompt"}`` -> ``{"count",
                     "max_model_len", "tokens"}``) and llama-server (``{"content"}`` -> ``{"tokens"}``), one token
                     per word piece
      router_status: model id -> the ``status`` object llama-server's router mode lists it with
                     (``{"value": "loaded"|"unloaded"|"loading"|"sleeping"|..., "args": [...]}``)
      queue:         scripted replies (:class:`ScriptedReply`), consumed oldest first by chat completions
      hits:          Counter of requests per URL path (faulted and rejected requests included)
      requests:      one dict per request: ``{"method", "path", "headers", "body"}``; header names are
                     lower-case and the Authorization token is masked (``Bearer sk-***...wxyz``); ``body`` is the
                     parsed JSON (``{}`` without a body)
      auth_headers:  the raw ``Authorization`` header of each request (None when absent), same order as ``requests``
      abandoned_streams: streamed answers whose client went away before ``[DONE]`` (the generation stopped there)
      app:           the ASGI app (serve it with ``LiveServer(fake.app)``)
    """

    def __init__(
        self,
        models: Iterable[str] = DEFAULT_MODELS,
        *,
        api_key: str | None = None,
        owned_by: str = "system",
        token_delay: float = 0.0,
        slow_seconds: float = 5.0,
        retry_after: int = 20,
    ) -> None:
        self._initial = (list(models), api_key, owned_by, token_delay, slow_seconds, retry_after)
        self.models: list[str] = []
        self.api_key: str | None = None
        self.owned_by = owned_by
        self.token_delay = token_delay
        self.slow_seconds = slow_seconds
        self.retry_after = retry_after
        self.gemini_model_prefix = "models/"
        self.fault: Fault | None = None
        self.router_status: dict[str, dict[str, Any]] = {}
        self.reasoning_models: set[str] = set(REASONING_MODELS)
        self.max_model_len: int | None = None
        self.queue: list[ScriptedReply] = []
        self.hits: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []
        self.auth_headers: list[str | None] = []
        self.abandoned_streams = 0
        self._call_counter = 0
        self.reset()
        routes: list[Route] = []
        for prefix in PREFIXES:
            routes += [
                Route(f"{prefix}/models", self._list_models, methods=["GET"]),
                Route(f"{prefix}/models/{{model:path}}", self._get_model, methods=["GET"]),
                Route(f"{prefix}/chat/completions", self._chat, methods=["POST"]),
            ]
        routes.append(Route("/tokenize", self._tokenize, methods=["POST"]))
        starlette = Starlette(routes=routes, exception_handlers={404: _invalid_url, 405: _invalid_url})
        self.app: ASGIApp = _Instrument(starlette, self)

    # ---- helpers for tests ------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the constructor's state: models, key, pacing; no fault, empty queue, nothing recorded."""
        models, api_key, owned_by, token_delay, slow_seconds, retry_after = self._initial
        self.models = list(models)
        self.api_key = api_key
        self.owned_by = owned_by
        self.token_delay = token_delay
        self.slow_seconds = slow_seconds
        self.retry_after = retry_after
        self.gemini_model_prefix = "models/"
        self.fault = None
        self.router_status.clear()
        self.reasoning_models = set(REASONING_MODELS)
        self.max_model_len = None
        self.queue.clear()
        self.hits.clear()
        self.requests.clear()
        self.auth_headers.clear()
        self.abandoned_streams = 0
        self._call_counter = 0

    def enqueue_text(self, text: str, *, reasoning: str | None = None) -> None:
        """The next chat completion answers ``text`` (``finish_reason: "stop"``), after ``reasoning`` when given.
        Reasoning tokens count against ``max_tokens`` first, as on llama.cpp: a small budget leaves ``content: ""``
        and ``finish_reason: "length"``."""
        self.queue.append(ScriptedReply(content=text, reasoning=reasoning))

    def enqueue_tool_call(self, name: str, arguments: Mapping[str, Any], *, call_id: str | None = None) -> str:
        """The next chat completion calls tool ``name`` (``finish_reason: "tool_calls"``); returns the call id."""
        self._call_counter += 1
        call_id = call_id or "call_" + hashlib.sha256(f"{name}\0{self._call_counter}".encode()).hexdigest()[:24]
        call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(dict(arguments))}}
        self.queue.append(ScriptedReply(tool_calls=[call]))
        return call_id

    def bodies(self, suffix: str = "/chat/completions") -> list[dict[str, Any]]:
        """JSON bodies of the requests whose path ends with ``suffix``, oldest first."""
        return [r["body"] for r in self.requests if r["path"].endswith(suffix)]

    def check_auth(self, authorization: str | None) -> Response | None:
        """The 401 answer for this ``Authorization`` header, or None when it is accepted."""
        if self.api_key is None:
            return None
        if not authorization or not authorization.strip():
            return openai_error(MISSING_KEY_MESSAGE, 401)
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token == self.api_key:
            return None
        message = (
            f"Incorrect API key provided: {mask_key(token)}. "
            "You can find your API key at https://platform.openai.com/account/api-keys."
        )
        return openai_error(message, 401, code="invalid_api_key")

    # ---- internals ----------------------------------------------------------------------------------

    def _resolve(self, request: Request, model: str) -> str | None:
        """The served id ``model`` means on this prefix, or None."""
        if model in self.models:
            return model
        prefix = self.gemini_model_prefix
        if request.url.path.startswith(GEMINI_PREFIX + "/") and prefix and model.startswith(prefix):
            bare = model[len(prefix) :]
            return bare if bare in self.models else None
        return None

    def _model_object(self, request: Request, model_id: str) -> dict[str, Any]:
        if request.url.path.startswith(GEMINI_PREFIX + "/"):
            return {"id": self.gemini_model_prefix + model_id, "object": "model", "owned_by": "google"}
        entry: dict[str, Any] = {"id": model_id, "object": "model", "created": MODEL_CREATED, "owned_by": self.owned_by}
        if model_id in self.router_status:  # llama-server in router mode: every model it can load, with its state
            entry["status"] = self.router_status[model_id]
        return entry

    async def _list_models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [self._model_object(request, m) for m in self.models]})

    async def _get_model(self, request: Request) -> Response:
        name = request.path_params["model"]
        model = self._resolve(request, name)
        if model is None:
            return _model_not_found(name).response()
        return JSONResponse(self._model_object(request, model))

    @staticmethod
    def _parse(body: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        if "_invalid_json" in body or "_json" in body:
            raise _BadRequest(
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
                "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid "
                "JSON.)"
            )
        model = body.get("model")
        if not model or not isinstance(model, str):
            raise _BadRequest("you must provide a model parameter")
        messages = body.get("messages")
        if messages is None:
            raise _BadRequest(
                "Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter"
            )
        if not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m for m in messages):
            raise _BadRequest("Invalid type for 'messages': expected an array of message objects.", param="messages")
        if not messages:
            raise _BadRequest(
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array "
                "instead.",
                param="messages",
                code="empty_array",
            )
        return model, messages

    def _next_reply(self, messages: list[dict[str, Any]], body: Mapping[str, Any]) -> ScriptedReply:
        if self.queue:
            return self.queue.pop(0)
        last_user: dict[str, Any] = next((m for m in reversed(messages) if m.get("role") == "user"), {})
        user_text = _content_text(last_user.get("content"))
        tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
        choice = body.get("tool_choice")
        if messages[-1].get("role") == "tool":
            text = "tool result: " + _content_text(messages[-1].get("content"))
        elif tools and choice != "none" and (choice == "required" or isinstance(choice, dict) or (
                messages[-1].get("role") == "user" and re.search(r"\bweather\b", user_text, re.IGNORECASE))):
            wanted = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
            tool = next((t for t in tools if t["function"]["name"] == wanted), tools[0])["function"]
            self._call_counter += 1
            call_id = "call_" + hashlib.sha256(f"{tool['name']}\0{self._call_counter}".encode()).hexdigest()[:24]
            arguments = example(tool.get("parameters") or {"type": "object"}, "Paris")
            return ScriptedReply(tool_calls=[{"id": call_id, "type": "function", "function": {
                "name": tool["name"], "arguments": json.dumps(arguments)}}])
        else:
            text = "echo: " + user_text
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_object" and isinstance(fmt.get("schema"), dict):  # llama-server's spelling
            text = json.dumps(example(fmt["schema"], text))
        elif fmt.get("type") == "json_object":
            text = json.dumps({"answer": text})
        elif fmt.get("type") == "json_schema":
            text = json.dumps(example(fmt["json_schema"].get("schema") or {}, text))
        return ScriptedReply(content=text)

    async def _tokenize(self, request: Request) -> Response:
        if self.max_model_len is None:
            return await _invalid_url(request, Exception())
        body = json.loads(await request.body() or b"{}")
        if "content" in body:  # llama-server
            return JSONResponse({"tokens": list(range(_count_tokens(str(body["content"]))))})
        count = _count_tokens(str(body.get("prompt") or ""))
        return JSONResponse({"count": count, "max_model_len": self.max_model_len, "tokens": list(range(count))})

    def _check_request(self, model: str, body: Mapping[str, Any], gemini: bool = False) -> None:
        """What OpenAI refuses of response_format, tools, tool_choice, reasoning_effort and max_tokens."""
        fmt = body.get("response_format")
        if fmt is not None:
            kind = fmt.get("type") if isinstance(fmt, dict) else None
            if kind not in ("text", "json_object", "json_schema"):
                raise _BadRequest(f"Invalid value: {kind!r}. Supported values are: 'json_object', 'json_schema', "
                                  "and 'text'.", param="response_format.type", code="invalid_value")
            if kind == "json_schema":
                wrapper = fmt.get("json_schema")
                for name, value in (("json_schema", wrapper), ("json_schema.name", (wrapper or {}).get("name"))):
                    if not value:
                        raise _BadRequest(f"Missing required parameter: 'response_format.{name}'.",
                                          param=f"response_format.{name}", code="missing_required_parameter")
                problem = _strict_problem(wrapper.get("schema") or {}) if wrapper.get("strict") else None
                if problem:
                    raise _BadRequest(f"Invalid schema for response_format '{wrapper['name']}': {problem}",
                                      param="response_format", code="invalid_json_schema")
        tools = body.get("tools")
        for index, tool in enumerate(tools or []):
            function = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(function, dict) or not function.get("name") or tool.get("type") != "function":
                raise _BadRequest(f"Missing required parameter: 'tools[{index}].function'.",
                                  param=f"tools[{index}].function", code="missing_required_parameter")
        if body.get("tool_choice") is not None and not tools:
            raise _BadRequest("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
                              "specified.", param="tool_choice")
        effort = body.get("reasoning_effort")
        reasoning = model in self.reasoning_models
        if effort is not None and not reasoning:
            raise _BadRequest("Unsupported parameter: 'reasoning_effort' is not supported with this model.",
                              param="reasoning_effort", code="unsupported_parameter")
        if effort is not None and effort not in REASONING_EFFORTS:
            raise _BadRequest(f"Invalid value: {effort!r}. Supported values are: "
                              + ", ".join(f"'{e}'" for e in REASONING_EFFORTS) + ".",
                              param="reasoning_effort", code="invalid_value")
        if reasoning and not gemini and body.get("max_tokens") is not None:  # Gemini takes max_tokens
            raise _BadRequest("Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                              "'max_completion_tokens' instead.", param="max_tokens", code="unsupported_parameter")

    async def _chat(self, request: Request) -> Response:
        raw = await request.body()
        try:
            parsed = json.loads(raw) if raw.strip() else {}
            body: dict[str, Any] = parsed if isinstance(parsed, dict) else {"_json": parsed}
        except ValueError:
            body = {"_invalid_json": raw.decode("utf-8", "replace")}
        try:
            name, messages = self._parse(body)
            model = self._resolve(request, name)
            if model is None:
                raise _model_not_found(name)
            self._check_request(model, body, gemini=request.url.path.startswith(GEMINI_PREFIX + "/"))
        except _BadRequest as exc:
            return exc.response()
        reply = self._next_reply(messages, body)
        hidden = EFFORT_TOKENS.get(str(body.get("reasoning_effort") or "medium"), 0) if model in self.reasoning_models \
            else 0
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        pieces = _pieces(reply.content or "")
        thought = _pieces(reply.reasoning or "")
        finish_reason = "tool_calls" if reply.tool_calls else "stop"
        if isinstance(limit, int) and limit > 0 and len(thought) >= limit:
            thought, pieces, finish_reason = thought[:limit], [], "length"
        elif isinstance(limit, int) and limit > 0 and len(pieces) > limit - len(thought):
            pieces, finish_reason = pieces[: limit - len(thought)], "length"
        content = "".join(pieces) if reply.content is not None else None
        reasoning = "".join(thought) if reply.reasoning is not None else None
        prompt_tokens = sum(_count_tokens(_content_text(m.get("content"))) + 4 for m in messages) + 3
        prompt_tokens += 10 * len(body.get("tools") or [])
        calls = sum(8 + _count_tokens(c["function"]["arguments"]) for c in reply.tool_calls)
        completion_tokens = len(thought) + len(pieces) + calls + hidden
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": len(thought) + hidden,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        completion_id = (
            "chatcmpl-" + hashlib.sha256(f"{time.time_ns()}\0{len(self.requests)}".encode()).hexdigest()[:29]
        )
        created = int(time.time())
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None, "annotations": []}
            if reasoning is not None:
                message["reasoning_content"] = reasoning
            if reply.tool_calls:
                message["tool_calls"] = reply.tool_calls
            return JSONResponse(
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": created,
                    "model": name,
                    "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
                    "usage": usage,
                    "service_tier": "default",
                    "system_fingerprint": SYSTEM_FINGERPRINT,
                }
            )
        options = body.get("stream_options") or {}
        include_usage = bool(options.get("include_usage")) if isinstance(options, dict) else False

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
            obj: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": name,
                "service_tier": "default",
                "system_fingerprint": SYSTEM_FINGERPRINT,
                "choices": choices,
            }
            if include_usage:
                obj["usage"] = None
            obj.update(extra)
            return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"

        def delta(d: dict[str, Any], reason: str | None = None) -> list[dict[str, Any]]:
            return [{"index": 0, "delta": d, "logprobs": None, "finish_reason": reason}]

        cut = self.fault == "stream_cut"

        async def events() -> AsyncIterator[bytes]:
            finished = False
            try:
                first: dict[str, Any] = {"role": "assistant", "content": None if reply.tool_calls else "",
                                         "refusal": None}
                yield chunk(delta(first))
                for piece in thought:
                    yield chunk(delta({"reasoning_content": piece}))
                for piece in pieces:
                    if self.token_delay:
                        await asyncio.sleep(self.token_delay)
                    yield chunk(delta({"content": piece}))
                    if cut:
                        finished = True
                        raise _AbortConnection
                for index, call in enumerate(reply.tool_calls):
                    head = {"index": index, "id": call["id"], "type": "function"}
                    head["function"] = {"name": call["function"]["name"], "arguments": ""}
                    yield chunk(delta({"tool_calls": [head]}))
                    for part in _pieces(call["function"]["arguments"]):
                        yield chunk(delta({"tool_calls": [{"index": index, "function": {"arguments": part}}]}))
                yield chunk(delta({}, finish_reason))
                if include_usage:
                    yield chunk([], usage=usage)
                yield b"data: [DONE]\n\n"
                finished = True
            finally:
                if not finished:  # the client went away: the generation stops
                    self.abandoned_streams += 1

        return StreamingResponse(events(), media_type="text/event-stream", headers={"cache-control": "no-cache"})
