"""Output schemas as clients get them (records/wire_schema.py): they say draft-07, so they must be draft-07 schemas
that mean what pydantic meant, and the models inside tool input schemas carry no titles."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from jsonschema import Draft7Validator, Draft202012Validator, validators
from mcp import ClientSession
from pydantic import BaseModel, Field

from venom_mcp.records.wire_schema import DRAFT_07, lean

# Keywords that exist only in drafts after 7: a draft-07 validator would ignore them, so none may appear.
LATER_KEYWORDS = {"prefixItems", "$dynamicRef", "$dynamicAnchor", "$anchor", "$recursiveRef", "unevaluatedItems",
                  "unevaluatedProperties", "dependentSchemas", "dependentRequired", "minContains", "maxContains",
                  "$vocabulary"}
# Beside a `$ref`, draft-07 ignores every keyword: only annotations may stand there.
ANNOTATIONS = {"$ref", "description", "title", "default", "examples", "readOnly"}


class Inner(BaseModel):
    n: int


class Row(BaseModel):
    size: float | None = Field(default=None, description="GB")
    kind: Literal["a", "b"] | None = None
    when: datetime | None = None
    inner: Inner | None = None


def subschemas(schema: Any, path: str = "#") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(schema, dict):
        found.append((path, schema))
        for key, value in schema.items():
            if key in ("properties", "$defs", "definitions", "patternProperties") and isinstance(value, dict):
                for name, sub in value.items():
                    found += subschemas(sub, f"{path}/{key}/{name}")
            elif isinstance(value, dict):
                found += subschemas(value, f"{path}/{key}")
            elif isinstance(value, list):
                for n, sub in enumerate(value):
                    found += subschemas(sub, f"{path}/{key}/{n}")
    return found


async def test_output_schemas_are_draft_07_and_lean(client: ClientSession) -> None:
    tools = (await client.list_tools()).tools
    assert len(tools) >= 20
    for tool in tools:
        schema = tool.outputSchema
        assert schema is not None, tool.name
        assert schema["$schema"] == DRAFT_07 and validators.validator_for(schema) is Draft7Validator, tool.name
        Draft7Validator.check_schema(schema)
        assert schema["type"] == "object" and isinstance(schema.get("title"), str), tool.name
        for path, sub in subschemas(schema):
            assert not LATER_KEYWORDS & sub.keys(), (tool.name, path, sub)
            if "$ref" in sub:
                assert sub.keys() <= ANNOTATIONS, (tool.name, path, sub)
            if path != "#":
                assert "title" not in sub or not isinstance(sub["title"], str), (tool.name, path)
        # Still a valid schema in the dialect pydantic wrote it for.
        Draft202012Validator.check_schema({k: v for k, v in schema.items() if k != "$schema"})


async def test_results_validate_under_both_drafts(client: ClientSession) -> None:
    schemas = {t.name: t.outputSchema for t in (await client.list_tools()).tools}
    for name, arguments in (("runtime_status", {}), ("resource_usage", {}), ("list_operations", {}),
                            ("installed_models", {}), ("trending_models", {"provider": "huggingface", "limit": 3}),
                            ("trending_models", {"provider": "ollama", "limit": 3})):
        result = await client.call_tool(name, arguments)  # ClientSession itself checks it against the schema
        assert not result.isError and result.structuredContent is not None, (name, result.content)
        schema = schemas[name]
        assert schema is not None
        Draft7Validator(schema).validate(result.structuredContent)
        Draft202012Validator({k: v for k, v in schema.items() if k != "$schema"}).validate(result.structuredContent)
        broken = {**result.structuredContent}
        broken.pop(schema["required"][0])  # a result without a required field is refused by both
        assert not Draft7Validator(schema).is_valid(broken), name


async def test_input_schemas_leave_out_titles_and_null_defaults(client: ClientSession) -> None:
    for tool in (await client.list_tools()).tools:
        schema = tool.inputSchema
        for path, sub in subschemas(schema):
            for name, prop in (sub.get("properties") or {}).items():
                assert "title" not in prop, (tool.name, path, name)
                assert prop.get("default", 0) is not None, (tool.name, path, name)
    chat = next(t for t in (await client.list_tools()).tools if t.name == "chat").inputSchema
    assert {"ChatMessage", "ToolDefinition"} <= set(chat["$defs"]) and "title" not in chat["$defs"]["ChatMessage"]
    # Nullable arguments keep an anyOf of single types (Gemini's function declarations take one type each).
    assert chat["properties"]["temperature"]["anyOf"][1] == {"type": "null"}


def test_an_optional_value_is_one_type_list_that_means_the_same() -> None:
    schema = lean(Row.model_json_schema())
    assert schema["properties"]["size"] == {"type": ["number", "null"], "default": None, "description": "GB"}
    assert schema["properties"]["kind"]["enum"] == ["a", "b", None]
    assert schema["properties"]["when"]["type"] == ["string", "null"]
    assert "anyOf" in schema["properties"]["inner"]  # beside a $ref nothing may stand: kept as pydantic wrote it
    check = Draft7Validator(schema)
    for good in ({}, {"size": 1.5, "kind": "a", "when": "2026-12-03T10:00:00Z"}, {"size": None, "kind": None},
                 {"inner": {"n": 1}}, {"inner": None}):
        assert check.is_valid(good), good
    for bad in ({"size": "1"}, {"kind": "c"}, {"when": 3}, {"inner": {"n": "x"}}):
        assert not check.is_valid(bad), bad
