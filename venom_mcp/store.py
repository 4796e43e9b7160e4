"""JSON state files under VENOM_HOME: atomic writes (temp file, fsync, rename) and a file lock."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import StateError


def atomic_write_json(path: Path, data: Any) -> None:
    """Write `data` so that readers see either the old file or the whole new one, never a torn write."""
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=1, default=str))


def atomic_write_text(path: Path, text: str) -> None:
    """Temp file in the same folder, fsync, rename, fsync the folder: the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # The rename is only durable once the directory entry is on disk.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_json(path: Path) -> Any | None:
    """The parsed file, or None when it does not exist. A file that does not parse raises StateError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from exc


@contextlib.contextmanager
def locked(path: Path, timeout: float = 30) -> Iterator[None]:
    """Hold an inter-process lock for `path` (a sibling `.lock` file) while reading or rewriting it."""
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=timeout):
        yield
