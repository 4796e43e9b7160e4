"""The Python API of SPEC section 6: `venom_mcp.ModelRegistry(models_dir=...)` with the original design's method
names, built from the environment like the server (models_dir overrides MODELS_CACHE_DIR)."""

from __future__ import annotations

from pathlib import Path

from .app import App
from .config import Settings
from .services import registry


class ModelRegistry(registry.ModelRegistry):
    def __init__(self, models_dir: str | Path | None = None, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        if models_dir is not None:
            settings = settings.model_copy(update={"models_cache_dir_override": Path(models_dir)})
        self._app = app = App(settings)
        super().__init__(settings, ollama=app.ollama, downloads=app.downloads, operations=app.operations,
                         http=app.http, state=app.runtime_state, catalog=app.catalog)
        self.activator = app.runtimes.activate

    async def aclose(self) -> None:
        """Close what this registry opened (its HTTP clients, running operations)."""
        await self._app.aclose()


__all__ = ["ModelRegistry"]
