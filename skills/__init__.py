"""Semantic Kernel plugins generated from venom-mcp's tool catalog.

    from semantic_kernel import Kernel
    from skills import build_plugins

    kernel = Kernel()
    for plugin in build_plugins():
        kernel.add_plugin(plugin)

Each function is named as its MCP tool and takes the same arguments, validated by the same models (the call
goes through the MCP server's tool manager), so the two faces cannot drift. Results are the tools'
structured records as JSON; failures raise. `semantic_kernel` is imported only here, never by the server.
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
               "list_operations", "cancel_operation", "remove_model", "activate_model", "model_capabilities"),
    "runtime": ("runtime_status", "control_runtime", "unload_models", "switch_runtime", "run_slash_command", "chat",
                "resource_usage", "provider_metrics", "request_history"),
    "news": ("model_news",),
    "translation": ("translate",),
    "mcp": ("import_mcp_server", "list_imported_mcp_servers", "remove_imported_mcp_server"),
}
_JSON_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool, "array": list,
                                "object": dict}


def _python_type(schema: dict[str, Any]) -> Any:
    options = schema.get("anyOf") or [schema]
    kinds = [o.get("type") for o in options if o.get("type") and o.get("type") != "null"]
    base: Any = _JSON_TYPES.get(kinds[0], str) if kinds else str
    return base | None if any(o.get("type") == "null" for o in options) else base


def flat_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """One parameter's schema as OpenAI-style function calling takes it: no null branch, no titles."""
    options = [o for o in schema.get("anyOf", [schema]) if o.get("type") != "null"]
    flat = dict(options[0]) if len(options) == 1 else {"anyOf": options}
    for key in ("description", "default", "enum", "minimum", "maximum", "minLength", "maxLength"):
        if key in schema and key not in flat:
            flat[key] = schema[key]
    flat.pop("title", None)
    return flat


def build_plugins(app: App | None = None) -> list[KernelPlugin]:
    from semantic_kernel.functions import KernelFunctionFromMethod, KernelPlugin, kernel_function

    from venom_mcp.app import App
    from venom_mcp.server import build_server

    server = build_server(app or App())
    manager = server._tool_manager
    functions: dict[str, list[Any]] = {}
    for tool in manager.list_tools():
        properties: dict[str, Any] = tool.parameters.get("properties", {})
        required = set(tool.parameters.get("required", []))
        parameters = []
        for name, schema in properties.items():
            meta = {"description": schema.get("description", ""), "schema_data": flat_schema(schema)}
            default = inspect.Parameter.empty if name in required else schema.get("default")
            parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                                annotation=Annotated[_python_type(schema), meta]))

        def make(tool_name: str) -> Any:
            async def call(**arguments: Any) -> str:
                result = await manager.call_tool(tool_name, arguments, convert_result=False)
                return str(result.model_dump_json()) if hasattr(result, "model_dump_json") else str(result)

            return call

        method = make(tool.name)
        method.__signature__ = inspect.Signature(parameters, return_annotation=str)
        method.__name__ = tool.name
        decorated = kernel_function(name=tool.name, description=tool.description)(method)
        group = next((g for g, names in GROUPS.items() if tool.name in names), "venom")
        functions.setdefault(group, []).append(KernelFunctionFromMethod(method=decorated, plugin_name=group))
    return [KernelPlugin(name=group, functions=fns) for group, fns in functions.items()]
