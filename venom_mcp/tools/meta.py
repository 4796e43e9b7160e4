"""How a catalog method becomes a tool: its title and MCP annotations."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ..app import App


F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ToolMeta:
    title: str
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = False


def tool(title: str, **hints: bool) -> Callable[[F], F]:
    """Mark a catalog method as a tool, with its MCP annotations."""

    def mark(fn: F) -> F:
        fn.__venom_tool__ = ToolMeta(title=title, **hints)  # type: ignore[attr-defined]
        return fn

    return mark


def describe(fn: Callable[..., Any]) -> str:
    """A tool's description: its docstring as prose. The source's indentation and line wraps are left out (each
    would cost an LLM a token on every turn); blank lines still part paragraphs."""
    text = inspect.cleandoc(fn.__doc__ or "")
    return "\n\n".join(" ".join(paragraph.split("\n")) for paragraph in text.split("\n\n"))


class ToolBase:
    """What every group of tools holds: the application it is thin over."""

    def __init__(self, app: App) -> None:
        self.app = app
