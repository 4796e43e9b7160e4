"""One JSON-schema-to-Python-type mapping (schema_types.py) for the two places that write Python signatures from
tool schemas: the Semantic Kernel skills over our own tools, and the proxies generated for imported servers."""

from __future__ import annotations

import inspect
from typing import Annotated, Any, get_args, get_origin

import pytest

from venom_mcp.app import App
from venom_mcp.schema_types import python_type
from venom_mcp.services.proxygen import ServerLaunch, ToolSpec, generate_proxy
from venom_mcp.tools import ToolCatalog

pytest.importorskip("semantic_kernel")

CASES: list[tuple[dict[str, Any], str]] = [
    ({"type": "string"}, "str"),
    ({"type": "integer"}, "int"),
    ({"type": "number"}, "float"),
    ({"type": "boolean"}, "bool"),
    ({"type": "array", "items": {"type": "string"}}, "list[Any]"),
    ({"type": "object"}, "dict[str, Any]"),
    ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, "int | None"),
    ({"type": ["string", "null"]}, "str | None"),
    ({"anyOf": [{"type": "string"}, {"type": "array"}]}, "Any"),  # a union of types: the tool's validation judges
    ({"anyOf": [{"type": "boolean"}, {"type": "string"}, {"type": "null"}]}, "Any"),  # never `Any | None`
    ({"$ref": "#/$defs/Message"}, "Any"),
    ({}, "Any"),
    ({"type": "tuple"}, "Any"),  # no such JSON type
]


def test_the_mapping() -> None:
    for schema, source in CASES:
        assert python_type(schema).annotation_source() == source, schema
        assert eval(source, {"Any": Any}) == python_type(schema).annotation(), schema
    assert python_type({"type": "integer"}).annotation_source(optional=True) == "int | None"
    assert python_type({"anyOf": [{"type": "string"}, {"type": "object"}]}).annotation(optional=True) is Any


async def test_the_skills_and_a_generated_proxy_type_every_parameter_alike(app: App) -> None:
    from skills import build_plugins

    catalog = ToolCatalog(app)
    plugins = {f.name: f for plugin in build_plugins(app) for f in plugin.functions.values()}
    tools = [ToolSpec(t.name, None, t.input_schema, None) for t in catalog.infos()]
    namespace: dict[str, Any] = {}
    exec(generate_proxy(ServerLaunch("venom", "venom-mcp", ["serve"], {}, None), tools),
         namespace)
    proxy = next(v for k, v in namespace.items() if k.endswith("Proxy") and isinstance(v, type))
    compared = 0
    for info in catalog.infos():
        skill = inspect.signature(plugins[info.name].method)  # type: ignore[attr-defined]
        generated = inspect.signature(getattr(proxy, info.name))
        for name, schema in info.input_schema.get("properties", {}).items():
            # The skills keep an optional parameter's default; the proxy makes it `| None = None`.
            expected = python_type(schema).annotation()
            assert _bare(skill.parameters[name].annotation) == expected, (info.name, name)
            assert _bare(generated.parameters[name].annotation) in (expected, python_type(schema).annotation(
                optional=name not in info.input_schema.get("required", []))), (info.name, name)
            compared += 1
    assert compared > 50


def _bare(annotation: Any) -> Any:
    """The type inside `Annotated[...]` (both faces attach a description); evaluated when written as text."""
    if isinstance(annotation, str):
        annotation = eval(annotation, {"Annotated": Annotated, "Any": Any})
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation
