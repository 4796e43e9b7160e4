"""Semantic Kernel plugins generated from venom-mcp's tool catalog.

    from semantic_kernel import Kernel
    from skills import build_plugins

    kernel = Kernel()
    for plugin in build_plugins():
        kernel.add_plugin(plugin)

Each function is named as its MCP tool and takes the same arguments, validated by the same models (the call
goes through the tool catalog's public `call`, as the MCP server's does), so the two faces cannot drift. Results
are the tools' structured records as JSON; failures raise. `semantic_kernel` is imported only here, never by the
server.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Annotated, Any

if TYPE_CHECKING:
    from semantic_kernel.functions import KernelPlugin

    from venom_mcp.app import App

# Plugins by area; a tool missing here lands in "venom".
GROUPS: dict[str, tuple[str, ...]] = {
    "models": ("list_models", "trending_models", "installed_models", "install_model", "operation_status",
               "list_operations", "cancel_operation", "remove_model", "activate_model", "model_capabilities",
               "check_fit", "model_config"),
    "runtime": ("runtime_status", "control_runtime", "unload_models", "switch_runtime", "run_slash_command", "chat",
                "resource_usage", "provider_metrics", "request_history", "alerts"),
    "news": ("model_news",),
    "translation": ("translate",),
    "mcp": ("import_mcp_server", "list_imported_mcp_servers", "remove_imported_mcp_server"),
}
def flat_schema(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> dict[str, Any]:
    """One parameter's schema as OpenAI-style function calling takes it: references to `defs` (the tool schema's
    `$defs`) written out, no null branch, no titles, and alternatives (`anyOf`) as one schema with a list of types
    (`"type": ["array", "string"]`), their enums joined when each one is an enum or a boolean."""
    return _flat(schema, defs or {})


def _flat(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    node = _deref(node, defs)
    union = node.get("anyOf") or node.get("oneOf")
    if union:
        options = [_flat(o, defs) for o in union if _deref(o, defs).get("type") != "null"]
        flat = dict(options[0]) if len(options) == 1 else _merge(options)
        for key, value in node.items():
            if key not in ("anyOf", "oneOf", "title") and (key not in flat or key == "description"):
                flat[key] = value
        return flat
    flat = {k: v for k, v in node.items() if k not in ("title", "$defs")}
    if isinstance(flat.get("properties"), dict):
        flat["properties"] = {name: _flat(value, defs) for name, value in flat["properties"].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(flat.get(key), dict):
            flat[key] = _flat(flat[key], defs)
    return flat


def _deref(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target = defs.get(str(node["$ref"]).rsplit("/", 1)[-1], {})
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _merge(options: list[dict[str, Any]]) -> dict[str, Any]:
    types: list[str] = []
    for option in options:
        kind = option.get("type")
        for name in kind if isinstance(kind, list) else [kind]:
            if name and name not in types:
                types.append(name)
    merged: dict[str, Any] = {"type": types}
    for option in options:
        for key, value in option.items():
            if key not in ("type", "enum", "const"):
                merged.setdefault(key, value)
    if all("enum" in o or "const" in o or o.get("type") == "boolean" for o in options):
        merged["enum"] = [value for o in options
                          for value in o.get("enum") or ([o["const"]] if "const" in o else [True, False])]
    return merged


def build_plugins(app: App | None = None) -> list[KernelPlugin]:
    from semantic_kernel.functions import KernelFunctionFromMethod, KernelPlugin, kernel_function

    from venom_mcp.app import App
    from venom_mcp.schema_types import python_type
    from venom_mcp.tools import ToolCatalog

    catalog = ToolCatalog(app or App())
    functions: dict[str, list[Any]] = {}
    for tool in catalog.infos():
        properties: dict[str, Any] = tool.input_schema.get("properties", {})
        defs: dict[str, Any] = tool.input_schema.get("$defs", {})
        required = set(tool.input_schema.get("required", []))
        parameters = []
        for name, schema in properties.items():
            meta = {"description": schema.get("description", ""), "schema_data": flat_schema(schema, defs)}
            default = inspect.Parameter.empty if name in required else schema.get("default")
            parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                                annotation=Annotated[python_type(schema).annotation(), meta]))

        def make(tool_name: str) -> Any:
            async def call(**arguments: Any) -> str:
                result = await catalog.call(tool_name, arguments)
                return str(result.model_dump_json()) if hasattr(result, "model_dump_json") else str(result)

            return call

        method = make(tool.name)
        method.__signature__ = inspect.Signature(parameters, return_annotation=str)
        method.__name__ = tool.name
        decorated = kernel_function(name=tool.name, description=tool.description)(method)
        group = next((g for g, names in GROUPS.items() if tool.name in names), "venom")
        functions.setdefault(group, []).append(KernelFunctionFromMethod(method=decorated, plugin_name=group))
    return [KernelPlugin(name=group, functions=fns) for group, fns in functions.items()]
