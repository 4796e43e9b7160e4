"""The one mapping from a JSON schema to a Python type, for the code that turns a tool's input schema into a Python
signature: the Semantic Kernel skills (skills/, over our own tools) and the generated proxies (services/proxygen,
over an imported server's tools). Semantic Kernel converts an argument to the annotated type before the call, so both
must map a schema the same way.

One non-null JSON type maps to its Python type; anything else (a union of types, a `$ref`, no type) is `Any`, which
Semantic Kernel passes through unconverted and the tool's own validation then judges. A `null` among the options
only makes it nullable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# JSON type -> (the Python type, how generated source spells it)
# (Parametrised containers: Semantic Kernel would turn a string into a list of its characters for a bare `list`.)
_TYPES: dict[str, tuple[Any, str]] = {
    "string": (str, "str"),
    "integer": (int, "int"),
    "number": (float, "float"),
    "boolean": (bool, "bool"),
    "array": (list[Any], "list[Any]"),
    "object": (dict[str, Any], "dict[str, Any]"),
}


@dataclass(frozen=True)
class PythonType:
    python: Any  # the type, or typing.Any
    source: str  # the same as generated source spells it: "int", "list[Any]", "Any"
    nullable: bool  # the schema also allows null

    @property
    def is_any(self) -> bool:
        return self.python is Any

    def annotation(self, optional: bool = False) -> Any:
        """The annotation: `T | None` when null is allowed (or the parameter is `optional`), never `Any | None`."""
        return self.python | None if (self.nullable or optional) and not self.is_any else self.python

    def annotation_source(self, optional: bool = False) -> str:
        """`annotation` as source text."""
        return self.source + " | None" if (self.nullable or optional) and not self.is_any else self.source


def python_type(schema: Any) -> PythonType:
    """The Python type of one property's JSON schema (see the module's note)."""
    if not isinstance(schema, dict):
        return PythonType(Any, "Any", False)
    kind = schema.get("type")
    if isinstance(kind, list):
        options: list[Any] = [{"type": k} for k in kind]
    elif isinstance(schema.get("anyOf"), list):
        options = schema["anyOf"]
    elif isinstance(schema.get("oneOf"), list):
        options = schema["oneOf"]
    else:
        options = [schema]
    nullable = any(isinstance(o, dict) and o.get("type") == "null" for o in options)
    rest = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
    if len(rest) == 1 and isinstance(rest[0], dict) and isinstance(rest[0].get("type"), str):
        found = _TYPES.get(rest[0]["type"])
        if found is not None:
            return PythonType(found[0], found[1], nullable)
    return PythonType(Any, "Any", nullable)


__all__ = ["PythonType", "python_type"]
