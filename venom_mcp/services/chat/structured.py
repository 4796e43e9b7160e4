"""JSON answers (`response_format`): what was asked for, and the answer parsed and checked against the schema.

`response_format` is "json" (any JSON value), a JSON Schema (an object), or OpenAI's own spelling of either
({"type": "json_object"}, {"type": "json_schema", "json_schema": {"name", "schema"}}), so a client can pass what it
already sends to OpenAI. The runtime is asked to constrain its output (generation.json_format); the answer is
checked here all the same, because not every server enforces a schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidArgument, UpstreamError

RAW_SHOWN = 2000  # characters of a bad answer quoted in the error
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(?P<body>.*?)\n?```\s*$", re.DOTALL)


@dataclass(frozen=True)
class JsonAnswer:
    schema: dict[str, Any] | None  # None: any JSON
    name: str = "answer"  # OpenAI's json_schema.name


def json_answer(response_format: str | dict[str, Any] | None) -> JsonAnswer | None:
    """The JSON answer asked for, or None for free text; InvalidArgument for a bad format or schema."""
    if response_format is None or response_format == "text":
        return None
    if response_format == "json":
        return JsonAnswer(None)
    if not isinstance(response_format, dict):
        raise InvalidArgument(f"response_format must be \"json\" or a JSON Schema object (got {response_format!r})")
    kind = response_format.get("type")
    if kind == "json_object" and set(response_format) <= {"type", "schema"}:
        schema = response_format.get("schema")
        return JsonAnswer(_checked(schema) if isinstance(schema, dict) else None)
    if kind == "json_schema" and isinstance(response_format.get("json_schema"), dict):
        wrapper = response_format["json_schema"]
        if not isinstance(wrapper.get("schema"), dict):
            raise InvalidArgument("response_format.json_schema needs a `schema` object")
        name = str(wrapper.get("name") or "answer")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
            raise InvalidArgument(f"response_format.json_schema.name must be 1-64 letters, digits, _ or - ({name!r})")
        return JsonAnswer(_checked(wrapper["schema"]), name)
    return JsonAnswer(_checked(response_format))


def _checked(schema: dict[str, Any]) -> dict[str, Any]:
    from jsonschema import SchemaError, validators

    try:
        validators.validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "the top level"
        raise InvalidArgument(f"response_format is not a valid JSON Schema at {where}: {exc.message}") from exc
    return schema


def parse(text: str, wanted: JsonAnswer, *, model: str, finish_reason: str | None, max_tokens: int,
          mask: Callable[[str], str]) -> Any:
    """The answer as JSON, valid for the schema. A cut answer is an InvalidArgument naming max_tokens; invalid JSON
    or a schema mismatch an UpstreamError; both quote the raw answer (secrets masked)."""
    fenced = _FENCE.match(text)
    body = fenced.group("body") if fenced else text
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        if finish_reason == "length":
            raise InvalidArgument(
                f"{model} was cut at max_tokens={max_tokens} before its JSON was complete: raise max_tokens"
                + _raw(text, mask)) from exc
        raise UpstreamError(f"{model} did not answer valid JSON ({exc.msg} at character {exc.pos})"
                            + _raw(text, mask)) from exc
    if wanted.schema is not None:
        from jsonschema import validators
        from jsonschema.exceptions import best_match

        validator = validators.validator_for(wanted.schema)(wanted.schema)
        error = best_match(validator.iter_errors(value))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "the top level"
            raise UpstreamError(f"{model}'s JSON does not match the schema at {where}: {error.message}"
                                + _raw(text, mask))
    return value


def _raw(text: str, mask: Callable[[str], str]) -> str:
    shown = text if len(text) <= RAW_SHOWN else text[:RAW_SHOWN] + f"... ({len(text)} characters)"
    return f"; the raw answer: {mask(shown)}"
