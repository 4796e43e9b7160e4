"""HTTP to ollama.com, and the bundled snapshot shown when it cannot be read."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx

from ...errors import UpstreamError
from ...records import CatalogModel
from ..upstream import Upstream
from .cards import parse_library_html
from .model_page import ModelPage, model_path, parse_model_page

log = logging.getLogger(__name__)
# Hub-only fields and what services/tools work out per request stay out of the bundled rows.
_NOT_IN_SNAPSHOT = {"installable", "install_note", "pipeline_tag", "parameter_count", "context_length",
                    "quantizations"}


class OllamaLibraryAdapter:
    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client

    async def popular(self) -> list[CatalogModel]:
        return parse_library_html(await self._get("/library", {"sort": "popular"}), self.base_url)

    async def search(self, query: str) -> list[CatalogModel]:
        """Search results; a result named exactly like the query also gets its download size from its page.

        One more request per search (and only then), cached with the search answer by the caller; a model page
        that fails costs the size, never the search.
        """
        html = await self._get("/search", {"q": query})
        models = parse_library_html(html, self.base_url, search_page=True)
        for index, model in enumerate(models):
            if model.display_name.lower() == query.strip().lower():
                try:
                    page = await self.model_page(model.display_name)
                except UpstreamError as exc:
                    log.info("no size for %s from its model page: %s", model.display_name, exc)
                    break
                models[index] = model.model_copy(update={"size_gb": page.size_gb})
                break
        return models

    async def model_page(self, name: str) -> ModelPage:
        return parse_model_page(await self._get(model_path(name), {}), name)

    async def _get(self, path: str, params: dict[str, str]) -> str:
        url = f"{self.base_url}{path}"
        upstream = Upstream(f"the Ollama library at {self.base_url}", "VENOM_OLLAMA_LIBRARY_URL")
        try:
            response = await self._client.get(url, params=params, headers={"Accept": "text/html"})
        except httpx.HTTPError as exc:
            raise upstream.unreachable(exc) from exc
        upstream.check(response, path)
        return response.text


def load_snapshot(path: Path) -> tuple[list[CatalogModel], str]:
    """The bundled catalog snapshot and the date its page was captured."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [CatalogModel.model_validate(m) for m in data["models"]], str(data["snapshot_date"])


def snapshot_payload(models: list[CatalogModel], taken: str, source: str, note: str) -> dict[str, Any]:
    """What manifests/ollama_library.json holds: the rows parsed from one captured page, most pulled first."""
    ordered = sorted(models, key=lambda m: m.downloads or 0, reverse=True)
    return {
        "snapshot_date": taken,
        "source": source,
        "note": note,
        "models": [m.model_dump(mode="json", exclude=_NOT_IN_SNAPSHOT) for m in ordered],
    }
