"""Every package the code imports is declared in pyproject.toml: a transitive dependency can vanish in any release."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = {"venom_mcp", "skills", "proxies"}


def _imported_top_levels() -> set[str]:
    names: set[str] = set()
    for folder in OURS:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names - OURS - set(sys.stdlib_module_names) - {"__future__"}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_imported_package_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    # The `ray` extra: what the llama.cpp deployment (adapters/ray/llamacpp_app.py) needs on a Ray cluster's nodes,
    # the only place it is imported.
    specs = [*project["dependencies"], *project["optional-dependencies"]["ray"]]
    declared = {_normalize(re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0]) for spec in specs}
    providers = packages_distributions()
    undeclared = {
        module: providers.get(module, ["?"])
        for module in _imported_top_levels()
        if not any(_normalize(dist) in declared for dist in providers.get(module, []))
    }
    assert undeclared == {}, f"imported but not declared in [project.dependencies]: {undeclared}"
