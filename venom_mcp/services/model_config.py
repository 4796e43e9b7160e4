"""Per-model generation settings (the model_config tool): the parameters a model's runtime takes, and the model's
own overrides of their defaults, kept in `$VENOM_HOME/model_config.json` (this module is its only writer).

Chat applies them per candidate (services/chat/service.py), and so do translate and the OpenAI-compatible gateway,
which go through chat: an argument the caller gave > the model's override > the default (chat's max_tokens=256,
the Ollama profile's num_ctx, else the runtime's own). The file:

    {"models": {"llama3.2:1b": {"runtime": "ollama", "overrides": {"temperature": 0.2, "num_ctx": 4096},
                                "updated_at": "2025-06-01T12:00:00+00:00"}},
     "updated_at": "2025-06-01T12:00:00+00:00"}
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..adapters.generation import parameters
from ..adapters.ray.app_config import DEPLOYMENT_OPTIONS, OPTION_NAMES
from ..config import Settings
from ..conversation import DEFAULT_MAX_TOKENS
from ..errors import InvalidArgument, NotFound, StateError, UpstreamError
from ..records import ModelConfig
from ..store import atomic_write_json, locked, read_json
from .chat.route import cloud_runtime
from .overrides import CLUSTER_ENGINES, check, check_value, limits, ordered, together
from .registry import ModelRegistry

log = logging.getLogger(__name__)
FILE = "model_config.json"


class ModelConfigService:
    def __init__(self, settings: Settings, registry: ModelRegistry) -> None:
        self.settings = settings
        self.registry = registry
        self.path: Path = settings.path(FILE)
        self._seen: tuple[tuple[int, int], dict[str, dict[str, Any]]] | None = None

    async def config(self, name: str, values: Mapping[str, object] | None = None,
                     reset: bool = False) -> ModelConfig:
        """Show the model's parameters and overrides; `values` merges into them, `reset` clears them first (with
        `values`: replaces them). Every value is checked before anything is written."""
        runtime, model = await self._model(name)
        checked = check(runtime, model, values or {})
        overrides = current = self.stored(model)
        if values is not None or reset:
            overrides = ordered({**({} if reset else current), **checked})
            together(model, overrides)
            if overrides != current:  # what changes is written (again under the lock, merged with the file)
                overrides = await asyncio.to_thread(self._write, runtime, model, checked, reset)
        return ModelConfig.model_validate({"model_name": model, "runtime": runtime,
                                           "parameters": self.parameters(runtime), "overrides": overrides})

    def parameters(self, runtime: str) -> list[dict[str, Any]]:
        """The runtime's rows of the table, with the ranges an override takes and the defaults chat uses."""
        defaults: dict[str, object] = {"max_tokens": int(DEFAULT_MAX_TOKENS)}
        if runtime == "ollama":
            defaults["num_ctx"] = self.settings.ollama_request()[0]["num_ctx"]
        rows = []
        for found in parameters(runtime):
            allowed = limits(runtime, found.name)
            row = {**found.as_dict(), "minimum": allowed.minimum, "maximum": allowed.maximum}
            rows.append({**row, "default": defaults.get(found.name, found.default)})
        if runtime in CLUSTER_ENGINES:  # the same model on ray: how its replicas are deployed
            rows += [{"name": o.name, "type": o.type, "minimum": o.minimum, "maximum": o.maximum, "default": o.default,
                      "description": o.description, "native": f"ray serve: {o.name}"} for o in DEPLOYMENT_OPTIONS]
        return rows

    def overrides(self, runtime: str, model: str) -> dict[str, object]:
        """Chat's hook: the model's overrides that `runtime` takes. An unreadable file is logged, not fatal: chat
        goes on with the defaults, and model_config says what is wrong with the file."""
        try:
            stored = self.stored(model)
        except StateError as exc:
            log.warning("model overrides not applied: %s", exc)
            return {}
        found: dict[str, object] = {}
        for name, value in stored.items():
            if name in OPTION_NAMES:
                continue  # a Ray Serve replica option: read when the model is deployed, not sent with a chat
            try:
                found[name] = check_value(runtime, model, name, value)
            except InvalidArgument as exc:  # edited by hand, or taken by another runtime than this one
                log.warning("override of %s for %s on %s not applied: %s", name, model, runtime, exc)
        return found

    def stored(self, model: str) -> dict[str, object]:
        entry = self._models().get(model)
        return dict(entry["overrides"]) if entry else {}

    async def _model(self, name: str) -> tuple[str, str]:
        """(runtime, name) of an installed model, or of a cloud model's name."""
        cloud = cloud_runtime(name)
        try:
            entry = await self.registry.resolve(name)
        except (NotFound, UpstreamError) as exc:
            if cloud is not None:
                return cloud, name
            if isinstance(exc, UpstreamError):
                raise
            raise NotFound(f"{exc}; or name a cloud model (e.g. gpt-4o-mini on openai, gemini-2.0-flash on "
                           "google)") from exc
        return entry.runtime, entry.name

    def _models(self) -> dict[str, dict[str, Any]]:
        """model -> {runtime, overrides, updated_at}, read again only when the file changed."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        key = (stat.st_mtime_ns, stat.st_size)
        if self._seen is None or self._seen[0] != key:
            self._seen = (key, self._read())
        return self._seen[1]

    def _read(self) -> dict[str, dict[str, Any]]:
        data = read_json(self.path)
        if data is None:
            return {}
        models = data.get("models") if isinstance(data, dict) else None
        if not isinstance(models, dict) or not all(
                isinstance(entry, dict) and isinstance(entry.get("overrides"), dict) for entry in models.values()):
            raise StateError(f"{self.path} is not a model_config file ({{\"models\": {{name: {{\"overrides\": "
                             "{...}}}}}): fix it, or delete it to clear every model's overrides")
        return models

    def _write(self, runtime: str, model: str, checked: dict[str, object], reset: bool) -> dict[str, object]:
        """Read, merge and write under the file's lock; an unchanged result writes nothing."""
        with locked(self.path):
            models = self._read()
            stored = models.get(model, {}).get("overrides", {})
            merged = ordered({**({} if reset else stored), **checked})
            together(model, merged)
            if merged == stored:
                return merged
            now = datetime.now(UTC).isoformat()
            if merged:
                models[model] = {"runtime": runtime, "overrides": merged, "updated_at": now}
            else:
                models.pop(model, None)
            atomic_write_json(self.path, {"models": models, "updated_at": now})
        return merged
