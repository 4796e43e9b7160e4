"""`/openapi.json`: the OpenAPI 3.1 document of the REST API, built from the route table and the tools' own
JSON schemas (pydantic's), so it cannot drift from what the routes accept and return."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..jsontext import MAX_BYTES
from .rest import MODELS, OPERATIONS, ROUTES, Endpoint

if TYPE_CHECKING:
    from ..tools import ToolInfo

REASONS = {400: "Bad input; the error names the fix", 404: "Unknown model or operation",
           409: "Conflicts with the current state (the active model, the disk quota)",
           503: "An upstream source or the runtime is down or not configured",
           413: f"The body is over {MAX_BYTES // (1024 * 1024)} MiB",
           415: "The body was not sent with Content-Type: application/json"}
ERROR = {"$ref": "#/components/schemas/Error"}


def _refs(schema: Any) -> Any:
    """Point pydantic's local `#/$defs/X` references at the document's components."""
    if isinstance(schema, dict):
        return {k: (v.replace("#/$defs/", "#/components/schemas/") if k == "$ref" else _refs(v))
                for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_refs(item) for item in schema]
    return schema


class _Builder:
    def __init__(self, tools: dict[str, ToolInfo]) -> None:
        self.tools = tools
        self.components: dict[str, Any] = {
            "Error": {"type": "object", "required": ["success", "error"], "properties": {
                "success": {"const": False}, "error": {"type": "string"}}},
        }

    def output(self, tool: str) -> dict[str, Any]:
        """A reference to the tool's result record, registered with the records it uses."""
        schema = copy.deepcopy(self.tools[tool].output_schema or {})
        for name, definition in schema.get("$defs", {}).items():
            self.components.setdefault(name, _refs(definition))
        title = schema.get("title", tool)
        self.components.setdefault(title, _refs(schema))
        return {"$ref": f"#/components/schemas/{title}"}

    def argument(self, tool: str, argument: str, choices: tuple[str, ...] | None) -> tuple[dict[str, Any], bool]:
        parameters = self.tools[tool].input_schema
        schema = _refs(copy.deepcopy(parameters.get("properties", {}).get(argument, {"type": "string"})))
        for name, definition in parameters.get("$defs", {}).items():
            self.components.setdefault(name, _refs(definition))
        schema.pop("title", None)
        if choices:
            schema = {"type": "string", "enum": list(choices)}
        return schema, argument in parameters.get("required", [])

    def operation(self, endpoint: Endpoint) -> dict[str, Any]:
        parameters, body, required = [], {}, []
        whole: dict[str, Any] | None = None  # the schema of an argument that is the whole body
        spelled: dict[str, list[str]] = {}  # tool argument -> the body fields that carry it
        for rest_name, (where, argument) in endpoint.params.items():
            choices = endpoint.choices.get(rest_name)
            field, needed = self.argument(endpoint.tool, argument, choices) if argument else (
                {"type": "string", "enum": list(choices or ())}, False)
            needed = needed or where == "path"
            if where == "json":
                whole = _not_null(field)
            elif where == "body":
                body[rest_name] = field
                spelled.setdefault(argument, []).append(rest_name)
                if needed:
                    required.append(rest_name)
            else:
                parameters.append({"name": rest_name, "in": where, "required": needed, "schema": field,
                                   "description": field.get("description", "")})
        result = self.output(endpoint.tool)
        envelope: dict[str, Any] = {"type": "object", "required": ["success"],
                                    "properties": {"success": {"const": True}, **endpoint.envelope_schema}}
        if endpoint.nest:
            envelope["properties"][endpoint.nest] = result
            envelope["required"].append(endpoint.nest)
            schema: dict[str, Any] = envelope
        else:
            schema = {"allOf": [result, envelope]}
        description = (self.tools[endpoint.tool].description or "").strip()
        doc: dict[str, Any] = {
            "operationId": endpoint.name, "summary": endpoint.summary,
            "description": f"{description}\n\nThe MCP tool `{endpoint.tool}` behind it takes the same arguments.",
            "tags": [_tag(endpoint.path)], "parameters": parameters,
            "responses": {"200": _json("Success", schema), **_errors(endpoint.errors)},
        }
        if endpoint.alias_of:
            doc["description"] = f"Alias of `{endpoint.alias_of}`, kept from the original design.\n\n" + doc[
                "description"]
        if body:
            # A required argument two body fields can carry (`model` or `name`) needs one of them, not both.
            either = [names for names in spelled.values() if len(names) > 1 and names[0] in required]
            fields: dict[str, Any] = {"type": "object", "properties": body,
                                      "required": [r for r in required if not any(r in n for n in either)]}
            if either:
                fields["allOf"] = [{"anyOf": [{"required": [name]} for name in names]} for names in either]
            doc["requestBody"] = {"required": True, "content": {"application/json": {"schema": fields}}}
            doc["responses"].update(_errors((413, 415)))
        if whole is not None:
            doc["requestBody"] = {"required": True, "content": {"application/json": {"schema": whole}}}
            doc["responses"].update(_errors((413, 415)))
        return doc


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional argument's schema without its null branch, for a body that must be there."""
    options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
    if len(options) != 1:
        return schema
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    return {**options[0], **rest}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(statuses: tuple[int, ...]) -> dict[str, Any]:
    return {str(s): _json(REASONS[s], ERROR) for s in statuses} | {"default": _json("Unexpected error", ERROR)}


def _tag(path: str) -> str:
    return "models" if path.startswith(MODELS) else path.split("/")[3]


def _openapi_path(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", path)


def document(tools: dict[str, ToolInfo]) -> dict[str, Any]:
    builder = _Builder(tools)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ROUTES:
        paths.setdefault(_openapi_path(endpoint.path), {})[endpoint.method.lower()] = builder.operation(endpoint)
    installed = builder.output("installed_models")
    builder.output("runtime_status")  # registers ActiveRuntime
    model_list = {"allOf": [installed, {"type": "object", "required": ["success", "providers", "active"],
                                        "properties": {
        "success": {"const": True},
        "providers": {"type": "object", "description": "The installed models grouped by runtime.",
                      "additionalProperties": {"type": "array",
                                               "items": {"$ref": "#/components/schemas/InstalledModel"}}},
        "active": {"$ref": "#/components/schemas/ActiveRuntime"}}}]}
    paths[MODELS] = {"get": {
        "operationId": "installed_models", "summary": "Installed models, the active one marked, and the active runtime",
        "tags": ["models"], "parameters": [], "responses": {"200": _json("Success", model_list), **_errors((503,))}}}
    operation = builder.output("operation_status")
    paths[f"{OPERATIONS}/{{operation_id}}/events"] = {"get": {
        "operationId": "operation_events", "summary": "Progress of an operation as Server-Sent Events",
        "description": "Sends `event: progress` with the Operation (JSON) whenever it changes, then `event: end` "
                       "with its final state, and closes. Comment lines keep the connection alive.",
        "tags": ["models"],
        "parameters": [{"name": "operation_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "An event stream; each event's data is an Operation",
                              "content": {"text/event-stream": {"schema": {"type": "string"},
                                                                "x-event-data": operation}}},
                      **_errors((404,))}}}
    builder.output("alerts")  # registers Alert
    alert = {"$ref": "#/components/schemas/Alert"}
    paths["/api/v1/alerts/events"] = {"get": {
        "operationId": "alert_events", "summary": "Alerts as Server-Sent Events",
        "description": "Sends `event: alerts` with {active, recent, count} first, then `event: raised`, `changed` "
                       "(its level) or `cleared` with the Alert (JSON) whenever one changes. Comment lines keep the "
                       "connection alive.",
        "tags": ["alerts"], "parameters": [],
        "responses": {"200": {"description": "An event stream; each event's data is an Alert (AlertList first)",
                              "content": {"text/event-stream": {"schema": {"type": "string"},
                                                                "x-event-data": alert}}},
                      **_errors(())}}}
    runtime = builder.output("runtime_status")
    usage = builder.output("resource_usage")
    paths["/api/v1/system/events"] = {"get": {
        "operationId": "system_events", "summary": "The runtimes and resource usage as Server-Sent Events",
        "description": "Sends `event: runtime` (the runtime_status record plus `operations`: the installs and "
                       "activations still running) and `event: usage` (Usage) first, then each again whenever it "
                       "changes (looked at every 2 s). Comment lines keep the connection alive; the dashboard "
                       "follows it.",
        "tags": ["system"], "parameters": [],
        "responses": {"200": {"description": "An event stream; each event's data is a RuntimeStatus (with "
                                             "`operations`) or a Usage",
                              "content": {"text/event-stream": {"schema": {"type": "string"},
                                                                "x-event-data": {"oneOf": [runtime, usage]}}}},
                      **_errors((503,))}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "venom-mcp REST API", "version": __version__,
                 "description": "The model-management API of the original design, over the same tools as the MCP "
                                "server. Errors are `{\"success\": false, \"error\": ...}` with an HTTP status."},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(builder.components.items())),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "VENOM_HTTP_TOKEN, when it is set"}}},
        "security": [{}, {"bearer": []}],
        "tags": [{"name": "models"}, {"name": "translate"}, {"name": "system"}, {"name": "history"},
                 {"name": "alerts"}],
    }
