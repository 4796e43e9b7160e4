"""Names in a generated proxy, derived from untrusted tool and property names.

A tool keeps its original name for the MCP call; Semantic Kernel and Python see a derived one. Kernel function
names match KERNEL_NAME (Semantic Kernel's PLUGIN_NAME_REGEX and the function part of its template engine's
`{{plugin.function}}`; its FUNCTION_NAME_REGEX also allows `-`, which templates cannot call), are unique in the
plugin, and are also Python identifiers that are neither keywords nor dunders. Services never import
semantic_kernel, so the pattern is repeated here and a test compares it with Semantic Kernel's own.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections.abc import Callable, Sequence

KERNEL_NAME = re.compile(r"[0-9A-Za-z_]+")  # use with fullmatch: `$` would also match before a newline
# Long names would make lines ruff rejects, and function-calling APIs cap names at 64 characters.
MAX_IDENTIFIER = 60


def _reserved_word(name: str) -> bool:
    # Soft keywords (match, case, type, _) are legal names, but read badly and may harden in a later Python.
    return keyword.iskeyword(name) or keyword.issoftkeyword(name)


def _word(name: str) -> str:
    """`name` in ASCII letters, digits and `_`: accents go (zażółć -> zazo_c), anything else becomes `_`."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return re.sub(r"[^0-9A-Za-z_]", "_", plain)


def kernel_name(name: str) -> str:
    """The kernel function name for a tool name, before de-duplication: the name itself when it is already fit."""
    ident = _word(name)
    if ident.startswith("__"):  # `__x` is name-mangled in a class, `__x__` is Python's own namespace
        ident = ident.strip("_")
    if not ident.strip("_"):
        ident = "tool"
    if ident[0].isdigit():
        ident = "tool_" + ident
    ident = ident[:MAX_IDENTIFIER]
    return ident + "_" if _reserved_word(ident) else ident


def _unique(name: str, taken: set[str]) -> str:
    """`name`, or the first free `name_2`, `name_3`, ...; the result joins `taken`."""
    found, n = name, 1
    while found in taken:
        n += 1
        found = f"{name}_{n}"
    taken.add(found)
    return found


def _assign(names: Sequence[str], derive: Callable[[str], str]) -> list[str]:
    """Unique names derived from `names`, index by index; the same names always give the same result.

    A name that derives to itself keeps it, so a tool called `my_tool` is never renamed for a `my-tool`; the
    others follow in sorted order, with `_2`, `_3`, ... when their derived name is taken.
    """
    found: list[str | None] = [None] * len(names)
    order = sorted(range(len(names)), key=lambda i: names[i])  # stable: equal names keep their given order
    taken: set[str] = set()
    for i in order:
        if derive(names[i]) == names[i] and names[i] not in taken:
            found[i] = names[i]
            taken.add(names[i])
    for i in order:
        if found[i] is None:
            found[i] = _unique(derive(names[i]), taken)
    return [name for name in found if name is not None]


def kernel_names(names: Sequence[str]) -> list[str]:
    """Unique kernel function names for tool names (see `_assign`)."""
    return _assign(names, kernel_name)


def _python_name(name: str, reserved: frozenset[str]) -> str:
    ident = _word(name)[:MAX_IDENTIFIER] or "_"
    if ident[0].isdigit():
        ident = "_" + ident
    if ident.startswith("__"):
        ident = "x" + ident  # `__x` would be name-mangled, `__x__` is Python's own namespace
    return ident + "_" if keyword.iskeyword(ident) or ident in reserved else ident


def python_names(names: Sequence[str], reserved: frozenset[str]) -> list[str]:
    """Unique Python names, none in `reserved`, for property names or kernel function names (see `_assign`)."""
    return _assign(names, lambda name: _python_name(name, reserved))
