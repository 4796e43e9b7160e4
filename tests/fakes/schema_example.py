"""A value that matches a JSON Schema, for the fakes' constrained answers (Ollama's ``format``, OpenAI's
``response_format`` json_schema, tool-call arguments): what a model under a grammar would write, deterministically.

Strings take ``text`` (or the first enum value, the const, a date for ``format: date``...), numbers their minimum or
0/1, booleans true, arrays ``minItems`` items (at least one), objects every property. Enough of JSON Schema for the
schemas tests send: type (or a list of types), enum, const, properties, items, anyOf/oneOf/allOf, $ref to $defs.
"""

from __future__ import annotations

from typing import Any


def example(schema: Any, text: str = "text", root: dict[str, Any] | None = None) -> Any:
    if not isinstance(schema, dict):
        return text
    root = schema if root is None else root
    if "$ref" in schema:
        target: Any = root
        for part in str(schema["$ref"]).removeprefix("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return example(target, text, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            options = [o for o in schema[key] if not (isinstance(o, dict) and o.get("type") == "null")]
            return example((options or schema[key])[0], text, root)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(part)
        return example(merged, text, root)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "object":
        return {name: example(sub, text, root) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [example(schema.get("items") or {}, text, root) for _ in range(count)]
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.0))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if schema.get("format") == "date":
        return "2025-01-01"
    if schema.get("format") == "date-time":
        return "2025-01-01T00:00:00Z"
    value = text
    if "maxLength" in schema:
        value = value[: int(schema["maxLength"])]
    if "minLength" in schema:
        value = value.ljust(int(schema["minLength"]), ".")
    return value
