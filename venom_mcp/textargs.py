"""Arguments that arrive as text (REST query parameters, the CLI's key=value pairs) read as the type the tool's
input schema gives them. The tools validate strictly (over MCP `limit: "5"` is refused), so the faces whose
transport only carries text convert first; text that is no such value stays text and the tool refuses it with a
message naming the argument."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


def json_type(schema: Mapping[str, Any], argument: str) -> str | None:
    """The JSON type (integer, number, boolean, string, ...) an input schema gives an argument, if it gives one."""
    spec = schema.get("properties", {}).get(argument, {})
    types = [spec.get("type")] + [option.get("type") for option in spec.get("anyOf", [])]
    return next((t for t in types if t not in (None, "null")), None)


def from_text(value: str, kind: str | None) -> Any:
    if kind == "integer" and re.fullmatch(r"-?\d{1,18}", value):
        return int(value)
    if kind == "number" and re.fullmatch(r"-?\d{1,18}(\.\d{1,18})?", value):
        return float(value)
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


__all__ = ["from_text", "json_type"]
