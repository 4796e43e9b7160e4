"""Does an Ollama (Go) template render a system message? Read from the template's structure, not its spelling.

Ollama hands a template either `.Messages` (every message, system ones included, plus `.System` with their
joined text) or, for older templates, `.System`/`.Prompt`/`.Response` one turn at a time. So:
- `.System` anywhere: the system text is rendered;
- a `range .Messages` whose `.Content` is reached by a message of role "system": rendered. That is every
  template that prints all roles alike (chatml, llama3, phi-3, zephyr: `<|{{ .Role }}|>`), every branch that
  admits "system" (`eq .Role "system"`, gemma's `or (eq .Role "user") (eq .Role "system")`) and any `else` after
  branches that do not; only role branches that all exclude "system" drop it;
- a template that says neither (`{{ .Prompt }}`: models that Ollama renders in code, many GGUF imports) cannot
  tell: None, and the family manifest or the default decides.
Ollama's own templates and their rendered tests (tests/fixtures/real/ollama_templates) are the oracle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ACTION = re.compile(r"{{-?\s*(.*?)\s*-?}}", re.DOTALL)
_ROLE_TEST = re.compile(r'\b(eq|ne)\s+\.Role\s+"(\w+)"')
_OPENERS = ("if ", "range ", "with ", "block ", "define ")


@dataclass
class _Frame:
    kind: str  # "if", "range", "with", ...
    admits: bool  # can a system message reach the current branch?
    taken: bool  # did an earlier role branch of this if-chain already take "system"?
    over_messages: bool = False


def _admits(condition: str) -> tuple[bool, bool]:
    """(does a system message pass this condition, does the condition test the role at all)."""
    tests = _ROLE_TEST.findall(condition)
    if not tests:
        return True, False  # not about roles (`if $last`, `if .Content`): it may hold for a system message
    passes = any((op == "eq" and role == "system") or (op == "ne" and role != "system") for op, role in tests)
    return passes, True


def renders_system(template: str) -> bool | None:
    """True if a system message's text ends up in the prompt, False if the template drops it, None if the
    template cannot tell (see the module docstring)."""
    if re.search(r"\.System\b", template):
        return True
    if not re.search(r"\.Messages\b", template):
        return None
    stack: list[_Frame] = []
    for match in _ACTION.finditer(template):
        action = match.group(1).strip()
        if action.startswith("/*"):
            continue
        if action.startswith(_OPENERS):
            kind, _, rest = action.partition(" ")
            admits, by_role = _admits(rest) if kind == "if" else (True, False)
            over = kind == "range" and ".Messages" in rest
            stack.append(_Frame(kind, admits, taken=admits and by_role, over_messages=over))
        elif action.startswith("else") and stack:
            frame, rest = stack[-1], action[4:].strip()
            if rest.startswith("if "):
                admits, by_role = _admits(rest[3:])
                frame.admits = admits and not frame.taken
                frame.taken = frame.taken or (admits and by_role)
            else:  # a plain else: reached by whatever no earlier branch took
                frame.admits = not frame.taken
        elif action == "end" and stack:
            stack.pop()
        elif re.search(r"\.Content\b", action) and _reached(stack):
            return True
    return False


def _reached(stack: list[_Frame]) -> bool:
    """Is this point inside `range .Messages`, on branches a system message can take?"""
    return any(frame.over_messages for frame in stack) and all(frame.admits for frame in stack)


__all__ = ["renders_system"]
