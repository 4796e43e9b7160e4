"""The JSON schema of a record as clients receive it (a tool's outputSchema): complete, and cheap to check.

MCP clients check every structured result against the tool's outputSchema. The Python SDK's ClientSession (which
Semantic Kernel's MCP plugin and most Python agents use) calls `jsonschema.validate`, and that first checks the
schema itself against its metaschema, on every call. Against the draft 2020-12 metaschema (the default when a
schema names none; its `$dynamicRef`s are slow to follow) that cost 4-12 ms per call for our records, three times
a whole bare tool call; against draft-07's it is 20-70 times less (bench/startup.py). The schemas pydantic writes
for our records use nothing that draft-07 lacks (tests/test_output_schemas.py keeps it so), so they say
`"$schema": draft-07`. draft-07 is also what most JavaScript clients (ajv) check by default.

The rest takes out what repeats: a property's title (its name, reworded) and a definition's title (its key in
`$defs`).

`compact` and `lean_input` do the same for tool input schemas (and the models inside them, such as chat's
messages), which every LLM reads on every turn.
"""

from __future__ import annotations

from typing import Any

DRAFT_07 = "http://json-schema.org/draft-07/schema#"

# The places where draft-07 (and pydantic's output) keeps subschemas: a value that is a schema, or a list of them,
# or a map of names to schemas.
_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames")
_MANY = ("anyOf", "oneOf", "allOf")
_MAP = ("properties", "$defs", "definitions", "patternProperties")


def lean(schema: dict[str, Any]) -> dict[str, Any]:
    """The record's schema as the wire carries it; the root keeps its title (the record's name)."""
    title = {"title": schema["title"]} if isinstance(schema.get("title"), str) else {}
    return {"$schema": DRAFT_07, **title, **_strip(schema)}


def _lean(named: Any) -> Any:
    if not isinstance(named, dict):
        return named
    return {name: _strip(sub) if isinstance(sub, dict) else sub for name, sub in named.items()}


def _strip(schema: dict[str, Any]) -> dict[str, Any]:
    """A subschema without its title, and so on down."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _MAP:
            out[key] = _lean(value)
        elif key in _ONE and isinstance(value, dict):
            out[key] = _strip(value)
        elif key in _MANY and isinstance(value, list):
            out[key] = [_strip(s) if isinstance(s, dict) else s for s in value]
        else:
            out[key] = value
    return _nullable(out)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """pydantic's `anyOf: [{"type": T, ...}, {"type": "null"}]` for an optional value as `"type": [T, "null"]`:
    the same values, and a validator checks one type instead of descending into two branches (a 12-row catalog
    has a few hundred of them, half of what ClientSession spends checking it). A `$ref` branch stays as it is
    (draft-07 ignores keywords beside a `$ref`); `enum`/`const` get null added, since they would refuse it."""
    branches = schema.get("anyOf")
    if not isinstance(branches, list) or len(branches) != 2 or {"type": "null"} not in branches:
        return schema
    other = branches[0] if branches[1] == {"type": "null"} else branches[1]
    if not isinstance(other, dict) or not isinstance(other.get("type"), str) or other.keys() & {"$ref", *_MANY}:
        return schema
    merged = {key: value for key, value in schema.items() if key != "anyOf"}
    merged.update(other)
    merged["type"] = [other["type"], "null"]
    if "const" in merged:
        merged["enum"] = [merged.pop("const")]
    if isinstance(merged.get("enum"), list) and None not in merged["enum"]:
        merged["enum"] = [*merged["enum"], None]
    return merged


def compact(schema: dict[str, Any], _model: object = None) -> None:
    """For a model shown inside a tool's input schema (a pydantic `json_schema_extra`): in place, leave out the
    titles and `"default": null` (`required` says what may be left out). Nullable values keep their `anyOf` of
    single types: a `"type": [T, "null"]` does not map onto the one-type dialects (Gemini's function
    declarations) that clients translate tool schemas into."""
    schema.pop("title", None)
    for sub in (schema.get("properties") or {}).values():
        if isinstance(sub, dict):
            sub.pop("title", None)
            if "default" in sub and (sub["default"] is None or sub["default"] == sub.get("const", ...)):
                del sub["default"]


def lean_input(schema: dict[str, Any]) -> dict[str, Any]:
    """A tool's input schema as the wire carries it: `compact` on the arguments and on each definition."""
    out = {**schema, "properties": {name: dict(sub) for name, sub in (schema.get("properties") or {}).items()}}
    compact(out)
    if isinstance(schema.get("$defs"), dict):
        out["$defs"] = {name: dict(sub) for name, sub in schema["$defs"].items()}
        for sub in out["$defs"].values():
            compact(sub)
    return out
