"""Where the bundled data files (manifests/) are: inside the wheel, or at the root of a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def manifests_dir() -> Path:
    for candidate in (_PACKAGE / "_bundled" / "manifests", _PACKAGE.parent / "manifests"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the bundled manifests/ folder is missing; reinstall venom-mcp")
