"""The manifest of installed models (`$VENOM_HOME/manifest.json`): its only writer. Every change is a
read-modify-write under the file lock; a corrupt file is moved aside and reported, never silently replaced."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from ..errors import NotFound, StateError
from ..records import ModelMetadata, check_model_name
from ..store import atomic_write_json, locked, read_json

log = logging.getLogger(__name__)
_MODELS = TypeAdapter(list[ModelMetadata])


def ollama_name(name: str) -> str:
    """Ollama's own spelling: a name without a tag means ':latest'."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


class Manifest:
    def __init__(self, path: Path) -> None:
        self._path = path
        self.warnings: list[str] = []
        self._cache: tuple[tuple[int, int, int], list[ModelMetadata]] | None = None
        # Called with the models after every write; the MCP face turns them into resource notifications.
        # A listener must be quick and must not raise.
        self.listeners: list[Callable[[list[ModelMetadata]], None]] = []

    def read(self) -> list[ModelMetadata]:
        """The installed models as the manifest records them; a corrupt file is moved aside and reported.

        Parsed again only when the file changed (an atomic write always gives it a new inode): chat and
        capabilities look it up on every call."""
        try:
            stat = os.stat(self._path)
        except FileNotFoundError:
            return []
        signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._cache is not None and self._cache[0] == signature:
            return list(self._cache[1])
        try:
            raw = read_json(self._path)
            models = [] if raw is None else _MODELS.validate_python(raw.get("models", []))
        except (StateError, ValidationError, AttributeError) as exc:
            self._set_aside(exc)
            return []
        self._cache = (signature, models)
        return list(models)

    def _set_aside(self, exc: Exception) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = self._path.with_name(f"manifest.json.corrupt-{stamp}")
        with locked(self._path):
            if self._path.exists():
                os.replace(self._path, aside)
        message = (f"manifest.json was unreadable ({str(exc).splitlines()[0]}) and was moved to {aside.name}; "
                   "installed files are untouched: install the models again to re-register them")
        log.error(message)
        self.warnings.append(message)

    def update(self, change: Callable[[list[ModelMetadata]], list[ModelMetadata]]) -> None:
        """Read, change and write under the lock, so that two writers cannot lose each other's update."""
        self.read()  # a corrupt file is set aside first (that takes the lock itself)
        with locked(self._path):
            models = change(self.read())
            atomic_write_json(self._path, {
                "models": [m.model_dump(mode="json") for m in models], "updated_at": datetime.now(UTC),
            })
        for listener in self.listeners:
            try:
                listener(models)
            except Exception:  # a listener's bug must not fail the write
                log.exception("a manifest listener failed")

    def record(self, entry: ModelMetadata) -> None:
        self.update(lambda models: [m for m in models if m.name != entry.name] + [entry])

    def find(self, name: str) -> ModelMetadata:
        check_model_name(name)
        models = self.read()
        for candidate in (name, ollama_name(name)):
            for model in models:
                if model.name == candidate:
                    return model
        same_repo = [m for m in models if m.provider == "huggingface" and m.name.split(":")[0] == name]
        if len(same_repo) == 1:
            return same_repo[0]
        raise NotFound(f"{name!r} is not installed; installed_models lists what is, install_model adds one")

    def disk_usage_gb(self) -> float:
        return round(sum(m.size_gb or 0 for m in self.read()), 3)
