"""The public Ollama library (ollama.com). It has no JSON catalog, so its HTML pages are parsed.

* `cards`: the model cards of /library?sort=popular and /search?q=..., in the markup with `x-test-*`
  attributes (until 2026-08/09) and in the current one without them, read by structure and text;
* `model_page`: a model's page (/library/<name>): downloads, updated date, chips and the size of each tag;
* `client`: the HTTP adapter and the bundled snapshot (manifests/ollama_library.json).

A page that answers but whose facts cannot be read raises LayoutChanged; services/catalog.py then serves the
last good answer or the bundled snapshot, with stale=true and that error. Real captures of both markups are
in tests/fixtures/real/ollama_com/ (see its SOURCES.md).
"""

from .cards import parse_library_html
from .client import OllamaLibraryAdapter, load_snapshot, snapshot_payload
from .model_page import ModelPage, parse_model_page
from .text import parse_count, parse_page_date, parse_size_gb

__all__ = [
    "ModelPage",
    "OllamaLibraryAdapter",
    "load_snapshot",
    "parse_count",
    "parse_library_html",
    "parse_model_page",
    "parse_page_date",
    "parse_size_gb",
    "snapshot_payload",
]
