"""Where an imported MCP server comes from, checked before anything is written: a git URL, or a local Python project
folder (absolute, a `pyproject.toml` or `setup.py` at its root, inside VENOM_IMPORT_LOCAL_ROOTS when that is set).

Every refused local path gets the same message, whether it exists or not, so the tool cannot be used to probe
which paths exist. A local folder is copied with bounds on its size and file count, and never through a symbolic
link that leads out of it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

from ..errors import InvalidArgument

log = logging.getLogger(__name__)

# `file://` is not here: a file URL is a local path and gets the local checks.
GIT_URL = re.compile(r"^(https?://|ssh://|git@)")
MAX_COPY_BYTES = 200 * 1024 * 1024
MAX_COPY_FILES = 20_000
# Build output and tool state, never part of what a server needs to be installed.
SKIPPED = frozenset({".venv", "venv", "__pycache__", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache",
                     ".tox", ".nox", "build", "dist"})


def refusal(source: str, roots: list[Path]) -> InvalidArgument:
    where = f" under one of {', '.join(map(str, roots))} (VENOM_IMPORT_LOCAL_ROOTS)" if roots else ""
    return InvalidArgument(
        f"source {source!r} is not an importable project: give a git URL (https://, ssh:// or git@), or the "
        f"absolute path of a folder{where} with a pyproject.toml or setup.py at its root"
    )


def parse_roots(value: str) -> list[Path]:
    """VENOM_IMPORT_LOCAL_ROOTS: `:`-separated absolute folders, resolved (a relative entry is a config error)."""
    roots = []
    for entry in filter(None, (part.strip() for part in value.split(os.pathsep))):
        if not os.path.isabs(entry):
            raise InvalidArgument(f"VENOM_IMPORT_LOCAL_ROOTS entry {entry!r} must be an absolute folder")
        roots.append(Path(entry).resolve())
    return roots


def local_project(source: str, roots: list[Path]) -> Path:
    """The resolved project folder of a local source, or the one refusal for every path that is not one."""
    text = source.removeprefix("file://")
    if not os.path.isabs(text) or "\x00" in text:
        raise refusal(source, roots)
    try:
        folder = Path(text).resolve(strict=True)
        is_project = folder.is_dir() and ((folder / "pyproject.toml").is_file() or (folder / "setup.py").is_file())
    except (OSError, RuntimeError):  # missing, unreadable, a symlink loop: the same answer as any refusal
        raise refusal(source, roots) from None
    inside = any(folder == root or folder.is_relative_to(root) for root in roots) if roots else True
    if not is_project or not inside or folder == Path(folder.anchor):
        raise refusal(source, roots)
    return folder


def copy_project(
    source: Path, target: Path, *, max_files: int = MAX_COPY_FILES, max_bytes: int = MAX_COPY_BYTES
) -> None:
    """Copy a project folder: regular files and folders only, links only when they stay inside it, build
    output skipped, and at most `max_bytes` in `max_files` files."""
    files = size = 0
    for folder, dirs, names in os.walk(source, followlinks=False):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED and not (here / d).is_symlink())
        (target / here.relative_to(source)).mkdir(parents=True, exist_ok=True)
        for name in sorted(names):
            path = here / name
            real = path.resolve() if path.is_symlink() else path
            if real != path and not (real.is_relative_to(source) and real.is_file()):
                log.info("not copying %s: a link that leads out of the project", path.relative_to(source))
                continue
            if not real.is_file():
                continue  # sockets, fifos, devices
            files += 1
            size += real.stat().st_size
            if files > max_files or size > max_bytes:
                raise InvalidArgument(
                    f"the project folder holds more than {max_files:,} files or {max_bytes / 2**20:g} MB "
                    "(build output and virtual environments excluded): point source at the server's own project"
                )
            shutil.copyfile(real, target / path.relative_to(source), follow_symlinks=False)


__all__ = ["GIT_URL", "MAX_COPY_BYTES", "MAX_COPY_FILES", "copy_project", "local_project", "parse_roots", "refusal"]
