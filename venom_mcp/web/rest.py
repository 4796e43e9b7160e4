"""The REST API of the original design (`/api/v1/...`): each route is a thin layer over one tool of the catalog.

Arguments go through the tool's own validation (the tool catalog's `call`, as the MCP face and the skills do), so
the faces cannot disagree. This module only moves fields between the URL, the query, the JSON body and the tool's
arguments, wraps results in `{"success": true, ...}`, and turns errors into `{"success": false, "error": ...}` with
an HTTP status: 400 bad input, 404 unknown model or operation, 409 conflict, 503 upstream or runtime down.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from ..errors import ConfigError, Conflict, InvalidArgument, NotFound, QuotaExceeded, UpstreamError
from ..jsontext import JsonRefused, loads
from ..records import ACTIVE_STATUSES
from ..textargs import from_text, json_type

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from ..tools import ToolCatalog

log = logging.getLogger(__name__)

Where = Literal["path", "query", "body", "json"]  # json: the whole JSON body is the argument
Shape = Callable[[dict[str, Any]], dict[str, Any]]
EVENT_POLL_SECONDS = 0.25

# The most specific class first: UpstreamTimeout is an UpstreamError, InvalidArgument a ValueError.
STATUSES: tuple[tuple[type[BaseException], int], ...] = (
    (ValidationError, 400), (InvalidArgument, 400), (NotFound, 404), (Conflict, 409), (QuotaExceeded, 409),
    (UpstreamError, 503), (ConfigError, 503),
)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Endpoint:
    """One route: where each REST field goes among the tool's arguments, and how the result is wrapped."""

    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str
    tool: str
    summary: str
    params: Mapping[str, tuple[Where, str]] = field(default_factory=dict)  # REST name -> (where, tool argument)
    fixed: Mapping[str, Any] = field(default_factory=dict)  # arguments the route always passes
    nest: str | None = None  # the result under this key; spread into the envelope when None
    envelope: Shape | None = None  # more envelope fields, derived from the result only
    envelope_schema: Mapping[str, Any] = field(default_factory=dict)  # their JSON schemas, for /openapi.json
    errors: tuple[int, ...] = (400, 503)
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # narrower than the tool accepts
    alias_of: str | None = None  # the original design's path for a route that has a newer name

    @property
    def name(self) -> str:
        """A unique operation id: the method and the path, e.g. post_models_registry_install."""
        slug = re.sub(r"[^a-z0-9]+", "_", self.path.removeprefix("/api/v1/").lower()).strip("_")
        return f"{self.method.lower()}_{slug}"


def q(*names: str, **renamed: str) -> dict[str, tuple[Where, str]]:
    """Query parameters: the same name as the tool's argument, or REST name=tool argument."""
    return {**{n: ("query", n) for n in names}, **{k: ("query", v) for k, v in renamed.items()}}


def b(*names: str, **renamed: str) -> dict[str, tuple[Where, str]]:
    """Fields of the JSON body."""
    return {**{n: ("body", n) for n in names}, **{k: ("body", v) for k, v in renamed.items()}}


def _flat_active(result: dict[str, Any]) -> dict[str, Any]:
    return {**result["active"]}


def _active_server(result: dict[str, Any]) -> dict[str, Any]:
    return {"active_server": result["active"]["provider"], "active_model": result["active"]["model"]}


def _activated(active: dict[str, Any]) -> dict[str, Any]:
    """The activation's message, with the fit check's warning (CPU only, partly on the GPU, forced) kept in it."""
    _, warned, warning = str(active.get("message") or "").partition("; warning: ")
    return {"message": f"{active['model']} is active on {active['provider']}" + (f"; warning: {warning}" if warned
                                                                                 else "")}


def _switched(result: dict[str, Any]) -> dict[str, Any]:
    return {**result, "active": result, "message": f"{result['model']} is active on {result['provider']}"}


_STR = {"type": "string"}
_NULLABLE_STR = {"type": ["string", "null"]}
_ACTIVE_FIELDS = {"provider": _NULLABLE_STR, "model": _NULLABLE_STR, "endpoint": _NULLABLE_STR,
                  "service_type": _NULLABLE_STR, "status": _STR, "message": _NULLABLE_STR}
_ACTIVE_REF = {"$ref": "#/components/schemas/ActiveRuntime"}

MODELS = "/api/v1/models"
OPERATIONS = f"{MODELS}/operations"
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", f"{MODELS}/providers", "list_models", "Search a catalog (Hugging Face Hub or Ollama library)",
             q("provider", "query", "limit", "refresh")),
    Endpoint("GET", f"{MODELS}/trending", "trending_models", "Trending models of a catalog",
             q("provider", "limit", "refresh")),
    Endpoint("GET", f"{MODELS}/news", "model_news", "Hugging Face blog posts or papers, optionally translated",
             {**q("month", "limit", "lang", "refresh", type="kind"), "provider": ("query", "")},
             choices={"provider": ("huggingface",)}),
    Endpoint("POST", f"{MODELS}/registry/install", "install_model",
             "Start installing a model (refused with 409 when check_fit says it will not fit, unless force=true)",
             b("name", "provider", "runtime", "force"), fixed={"wait": False}, nest="operation",
             envelope=lambda op: {"operation_id": op["operation_id"],
                               "message": f"installation of {op['model_name']} started"},
             envelope_schema={"operation_id": _STR, "message": _STR}, errors=(400, 404, 409, 503)),
    Endpoint("DELETE", f"{MODELS}/registry/{{model_name}}", "remove_model", "Remove an installed model",
             {"model_name": ("path", "name"), **q("provider")}, nest="operation",
             envelope=lambda op: {"operation_id": op["operation_id"], "message": f"{op['model_name']} removed"},
             envelope_schema={"operation_id": _STR, "message": _STR}, errors=(400, 404, 409, 503)),
    Endpoint("POST", f"{MODELS}/activate", "activate_model",
             "Make an installed model the active one of a runtime (refused with 409 when it will not fit in memory, "
             "unless force=true)", b("name", "runtime", "force"), nest="active", envelope=_activated,
             envelope_schema={"message": _STR}, errors=(400, 404, 409, 503)),
    Endpoint("GET", OPERATIONS, "list_operations", "Recent installs and removals, newest first", q("limit")),
    Endpoint("GET", f"{OPERATIONS}/{{operation_id}}", "operation_status", "One operation",
             {"operation_id": ("path", "operation_id")}, nest="operation", errors=(400, 404)),
    Endpoint("POST", f"{OPERATIONS}/{{operation_id}}/cancel", "cancel_operation", "Cancel a running install",
             {"operation_id": ("path", "operation_id")}, nest="operation", errors=(400, 404)),
    Endpoint("GET", f"{MODELS}/usage", "resource_usage", "CPU, memory, disk and GPU usage", nest="usage",
             errors=(503,)),
    Endpoint("GET", f"{MODELS}/{{model_name}}/capabilities", "model_capabilities",
             "What an installed model supports (URL-encode a '/' in the name as %2F)",
             {"model_name": ("path", "name")}, errors=(400, 404)),
    Endpoint("POST", "/api/v1/translate", "translate", "Translate text through the active model",
             b("text", "source_lang", "target_lang", "use_cache"), errors=(400, 503)),
    Endpoint("POST", "/api/v1/chat", "chat", "Ask the active model, or any installed or cloud model (model=)",
             b("prompt", "messages", "system", "model", "max_tokens", "temperature", "top_p", "top_k", "seed", "stop",
               "repeat_penalty", "num_ctx", "response_format", "tools", "tool_choice", "think", "sensitive"),
             errors=(400, 404, 409, 503)),
    Endpoint("GET", "/api/v1/system/llm-servers/active", "runtime_status",
             "The active runtime and the health of each local server", envelope=_active_server,
             envelope_schema={"active_server": _NULLABLE_STR, "active_model": _NULLABLE_STR}, errors=()),
    Endpoint("POST", "/api/v1/system/llm-servers/active", "switch_runtime",
             "Switch to a local runtime server and activate a model on it",
             b(server_name="provider", model_name="model"), envelope=_switched,
             envelope_schema={**_ACTIVE_FIELDS, "active": _ACTIVE_REF},
             choices={"server_name": ("ollama", "vllm", "llamacpp")}, errors=(400, 404, 409, 503)),
    Endpoint("POST", "/api/v1/system/llm-servers/{server_name}/{action}", "control_runtime",
             "Start, stop or restart a local runtime server (body, optional: {\"force\": true} also stops a process "
             "on its port that venom-mcp did not start)",
             {"server_name": ("path", "server"), "action": ("path", "action"), **b("force")}, nest="server",
             envelope=lambda s: {"message": f"{s['name']} is {s['status']}"}, envelope_schema={"message": _STR},
             errors=(400, 409, 503)),
    Endpoint("GET", "/api/v1/system/llm-runtime/active", "runtime_status", "The active runtime, in full",
             envelope=_flat_active, envelope_schema=_ACTIVE_FIELDS, errors=()),
    Endpoint("POST", "/api/v1/system/llm-runtime/active", "switch_runtime",
             "Switch to a cloud provider (openai, google; aliases gpt, gem, gemini, google-gemini)",
             b("provider", "model"), envelope=_switched, envelope_schema={**_ACTIVE_FIELDS, "active": _ACTIVE_REF},
             choices={"provider": ("openai", "gpt", "google", "gem", "gemini", "google-gemini")},
             errors=(400, 503)),
    Endpoint("GET", "/api/v1/history/requests", "request_history", "Language-model requests, newest first",
             q("limit"), errors=(400,)),
    Endpoint("GET", "/api/v1/alerts", "alerts", "Alerts in force and the latest ones (also as events: /events)",
             q("limit"), errors=(400,)),
    Endpoint("POST", f"{MODELS}/fit", "check_fit",
             "Will a model fit in the free memory? An estimate from its metadata (installed or not)",
             b("name", "provider", "runtime", "context_length"), errors=(400, 404, 503)),
    Endpoint("GET", f"{MODELS}/{{model_name}}/config", "model_config",
             "A model's generation parameters and its overrides (URL-encode a '/' in the name as %2F)",
             {"model_name": ("path", "name")}, errors=(400, 404, 503)),
    Endpoint("PUT", f"{MODELS}/{{model_name}}/config", "model_config",
             "Store overrides of a model's generation parameters (the body: {name: value}), merged with its others",
             {"model_name": ("path", "name"), "overrides": ("json", "set")}, errors=(400, 404, 503)),
    Endpoint("DELETE", f"{MODELS}/{{model_name}}/config", "model_config", "Clear a model's overrides",
             {"model_name": ("path", "name")}, fixed={"reset": True}, errors=(400, 404, 503)),
    Endpoint("POST", f"{MODELS}/unload-all", "unload_models",
             "Unload the models of one local runtime (body: runtime) or of all, freeing their memory",
             b("runtime"), errors=(400, 409, 503)),
)


def _alias(path: str, method: Literal["GET", "POST", "DELETE"], of: Endpoint, summary: str,
           params: Mapping[str, tuple[Where, str]] | None = None, fixed: Mapping[str, Any] | None = None) -> Endpoint:
    return Endpoint(method, path, of.tool, summary, of.params if params is None else params,
                    {**of.fixed, **(fixed or {})}, of.nest, of.envelope, of.envelope_schema, of.errors, of.choices,
                    alias_of=f"{of.method} {of.path}")


_ROUTE = {(e.method, e.path): e for e in ENDPOINTS}
_REMOVE = _ROUTE["DELETE", f"{MODELS}/registry/{{model_name}}"]
# The design's bodies name the model `model`; today's routes say `name`. Both are taken, `model` first.
_MODEL = b(model="name", name="name")
# The paths of the original design, kept working beside today's names.
ALIASES: tuple[Endpoint, ...] = (
    _alias(f"{MODELS}/install", "POST", _ROUTE["POST", f"{MODELS}/registry/install"],
           "Start installing a model (the original design's path)", {**_MODEL, **b("provider", "runtime", "force")}),
    _alias(f"{MODELS}/switch", "POST", _ROUTE["POST", f"{MODELS}/activate"],
           "Make an installed model the active one of a runtime (the original design's path)",
           {**_MODEL, **b("runtime", "force")}),
    _alias(f"{MODELS}/remove", "POST", _REMOVE, "Remove an installed model (the original design's path)",
           {**_MODEL, **b("provider")}),
    _alias(f"{MODELS}/ollama/catalog", "GET", _ROUTE["GET", f"{MODELS}/providers"],
           "The Ollama library catalog (the original design's path)", q("query", "limit", "refresh"),
           {"provider": "ollama"}),
    # Last: its path parameter would also match the longer paths above.
    _alias(f"{MODELS}/{{model_name}}", "DELETE", _REMOVE, "Remove an installed model (the original design's path)"),
)
ROUTES: tuple[Endpoint, ...] = ENDPOINTS + ALIASES


def failure(status: int, message: str) -> Response:
    from starlette.responses import JSONResponse

    return JSONResponse({"success": False, "error": message}, status_code=status)


def _describe(exc: ValidationError, names: Mapping[str, str]) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        loc = [names.get(str(p), str(p)) for p in error["loc"] if p != "return"]
        problems.append(f"{'.'.join(loc) or 'request'}: {error['msg']}")
    return "invalid request: " + "; ".join(problems)


class RestApi:
    """The routes of ENDPOINTS plus `GET /api/v1/models` and the operation event stream, over one server's tools."""

    def __init__(self, catalog: ToolCatalog) -> None:
        self._catalog = catalog

    async def call(self, tool: str, arguments: dict[str, Any], names: Mapping[str, str] | None = None) -> Any:
        """The tool's result as JSON-ready data, or ApiError with the status its failure deserves."""
        try:
            result = await self._catalog.call(tool, arguments)
        except Exception as exc:
            for kind, status in STATUSES:
                if isinstance(exc, kind):
                    message = _describe(exc, names or {}) if isinstance(exc, ValidationError) else str(exc)
                    raise ApiError(status, message) from exc
            log.error("%s failed", tool, exc_info=exc)
            raise ApiError(500, f"internal error in {tool}; the server log has the details") from exc
        return result.model_dump(mode="json") if hasattr(result, "model_dump") else result

    async def handle(self, endpoint: Endpoint, request: Request) -> Response:
        from starlette.responses import JSONResponse

        names = {argument: rest for rest, (_, argument) in endpoint.params.items() if argument}
        try:
            arguments = await self._arguments(endpoint, request)
            result = await self.call(endpoint.tool, arguments, names)
        except ApiError as exc:
            return failure(exc.status, exc.message)
        body: dict[str, Any] = {"success": True}
        if endpoint.nest:
            body[endpoint.nest] = result
        else:
            body.update(result)
        if endpoint.envelope:
            body.update(endpoint.envelope(result))
        if isinstance(result, dict) and result.get("operation_type") and result.get("status") == "failed":
            body.update(success=False, error=result.get("error") or "the operation failed")
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    async def _arguments(self, endpoint: Endpoint, request: Request) -> dict[str, Any]:
        body: Any = {}
        if any(where in ("body", "json") for where, _ in endpoint.params.values()):
            try:
                body = loads(await request.body() or b"{}")
            except JsonRefused as exc:
                raise ApiError(400, f"the body is refused: {exc}; send a JSON object") from exc
            if not isinstance(body, dict):
                raise ApiError(400, "send a JSON object, e.g. {\"name\": \"llama3:latest\", \"runtime\": \"ollama\"}")
        arguments = dict(endpoint.fixed)
        for rest_name, (where, argument) in endpoint.params.items():
            source: Mapping[str, Any] = {"path": request.path_params, "query": request.query_params,
                                         "body": body, "json": {rest_name: body}}[where]
            value = source.get(rest_name)
            if value is None or (where == "query" and value == ""):
                continue
            allowed = endpoint.choices.get(rest_name)
            if allowed is not None and value not in allowed:
                raise ApiError(400, f"invalid request: {rest_name} must be one of {', '.join(allowed)} (got {value!r})")
            if argument and where == "query":
                arguments[argument] = from_text(value, self._type(endpoint.tool, argument))
            elif argument:
                arguments[argument] = value
        return arguments

    def _type(self, tool: str, argument: str) -> str | None:
        """The JSON type the tool's input schema gives an argument: query parameters are text (see textargs)."""
        return json_type(self._catalog.info(tool).input_schema, argument)

    async def models(self, request: Request) -> Response:
        """Installed models with the active one marked, grouped by runtime too, and the active runtime."""
        from starlette.responses import JSONResponse

        try:
            installed, status = await asyncio.gather(
                self.call("installed_models", {}), self.call("runtime_status", {})
            )
        except ApiError as exc:
            return failure(exc.status, exc.message)
        providers: dict[str, list[dict[str, Any]]] = {}
        for model in installed["models"]:
            providers.setdefault(model["runtime"], []).append(model)
        return JSONResponse({"success": True, **installed, "providers": providers, "active": status["active"]})

    async def operation_events(self, request: Request) -> Response:
        """Server-Sent Events: `progress` with the operation on every change, then `end` with its final state."""
        from sse_starlette import EventSourceResponse

        arguments = {"operation_id": request.path_params["operation_id"]}
        try:
            first = await self.call("operation_status", arguments)
        except ApiError as exc:
            return failure(exc.status, exc.message)

        async def events() -> AsyncIterator[dict[str, str]]:
            current, last = first, None
            while True:
                if current["status"] not in ACTIVE_STATUSES:
                    yield {"event": "end", "data": json.dumps(current)}
                    return
                if current != last:
                    yield {"event": "progress", "data": json.dumps(current)}
                    last = current
                await asyncio.sleep(EVENT_POLL_SECONDS)
                current = await self.call("operation_status", arguments)

        return EventSourceResponse(events(), ping=15)
