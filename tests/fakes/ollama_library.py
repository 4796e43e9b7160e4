"""A fake ollama.com model library (Starlette app) serving the real site's model-card markup.

Routes:

* ``GET /library?sort=popular|newest``           all models (default ``popular``: by pull count, descending)
* ``GET /search?q=...&c=<capability>&o=popular|newest``   case-insensitive match on name or description

Both answer a full HTML page whose model list is the markup of ollama.com. ``markup`` chooses which:
``"x-test"`` (default: ``<li x-test-model>`` cards with ``x-test-search-response-title``, ``x-test-capability``,
``x-test-size``, ``x-test-pull-count``, ``x-test-tag-count`` and ``x-test-updated``, as until 2026-08) or
``"current"`` (the same cards with the ``x-test-*`` attributes gone and their empty slots left, ``<li  class=...>``
and ``<span >38.7M</span>``, as in the real captures since 2026-08). Every piece of data is HTML-escaped.

Real pages: ``pages`` (a mapping of URL path to a file in tests/fixtures/real/ollama_com/, e.g.
``CURRENT_PAGES`` or ``LEGACY_PAGES``) makes the fake answer those paths with the captured page, whatever the
query string, and 404 for any other path; faults still apply.

Fault injection: ``fault`` = ``"garbage"`` (200 page with a changed layout and no model markup),
``"bare"`` (200 page whose cards keep their links, titles and descriptions but show no pull count, chip or
date: a redesign the parser must report), ``"error"`` (503), ``"slow"`` (sleep ``slow_seconds`` then answer
normally).
"""

from __future__ import annotations

import asyncio
import gzip
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Literal
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

Fault = Literal["garbage", "bare", "error", "slow"]
FAULTS: tuple[str, ...] = ("garbage", "bare", "error", "slow")
Markup = Literal["x-test", "current"]

REAL_CAPTURES = Path(__file__).resolve().parent.parent / "fixtures" / "real" / "ollama_com"
# Real pages by the path ollama.com served them at (tests/fixtures/real/ollama_com/SOURCES.md says where each is from).
CURRENT_PAGES: dict[str, str] = {
    "/library": "library_2026-08-27.html",
    "/search": "search_gemma_vision_2026-10-04.html",
    # No capture of a whole model page in the current markup was found; this real /library/gemma3/tags excerpt
    # holds the same tag rows, so it stands in for /library/gemma3 (its own path is served too).
    "/library/gemma3": "tags_gemma3_2026.html",
    "/library/gemma3/tags": "tags_gemma3_2026.html",
}
LEGACY_PAGES: dict[str, str] = {
    "/library": "library_2025-08-03.html.gz",
    # Captured from /library?q=wizard, the search of the time; the same card markup as /search.
    "/search": "library_search_wizard_2025-08-03.html",
    "/library/magistral": "model_magistral_2025-08-03.html",
}


def read_capture(name: str) -> str:
    """A real captured page from tests/fixtures/real/ollama_com/ (``.gz`` files are decompressed)."""
    raw = (REAL_CAPTURES / name).read_bytes()
    return (gzip.decompress(raw) if name.endswith(".gz") else raw).decode("utf-8")
CAPABILITIES: tuple[str, ...] = ("tools", "vision", "thinking", "embedding")
# "Now" used to render the relative "Updated ... ago" texts, fixed so pages are deterministic.
DEFAULT_NOW = datetime(2025, 12, 15, 12, 0, tzinfo=UTC)

_MULTIPLIERS = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}


def parse_pull_count(text: str) -> int:
    """``"108.5M"`` -> 108_500_000, ``"9.8K"`` -> 9_800, ``"512"`` -> 512."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMB]?)\s*", text)
    if m is None:
        raise ValueError(f"not a pull count: {text!r}")
    return round(float(m[1]) * _MULTIPLIERS[m[2]])


def relative_time(when: datetime, now: datetime) -> str:
    """The site's relative dates: ``1 year ago``, ``3 months ago``, ``2 weeks ago``, ``yesterday``..."""
    seconds = max(0, int((now - when).total_seconds()))
    days = seconds // 86400
    units = [(365, "year"), (30, "month"), (7, "week"), (1, "day")]
    for size, name in units:
        if days >= size:
            n = days // size
            if name == "day" and n == 1:
                return "yesterday"
            return f"{n} {name}{'s' if n > 1 else ''} ago"
    hours = seconds // 3600
    if hours >= 1:
        return f"{hours} hour{'s' if hours > 1 else ''} ago"
    minutes = seconds // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''} ago" if minutes else "just now"


@dataclass
class OllamaModel:
    name: str
    description: str
    pulls: str  # as displayed: "108.5M", "9.8K", "512"
    tag_count: int
    updated: datetime
    capabilities: list[str] = field(default_factory=list)
    sizes: list[str] = field(default_factory=list)

    @property
    def pull_count(self) -> int:
        return parse_pull_count(self.pulls)


def _m(
    name: str, description: str, pulls: str, tags: int, updated: str, caps: str = "", sizes: str = ""
) -> OllamaModel:
    return OllamaModel(
        name=name,
        description=description,
        pulls=pulls,
        tag_count=tags,
        updated=datetime.fromisoformat(updated).replace(tzinfo=UTC),
        capabilities=caps.split() if caps else [],
        sizes=sizes.split() if sizes else [],
    )


def seed_models() -> list[OllamaModel]:
    """28 models as listed on ollama.com, with distinct pull counts (stored by name, not in display order)."""
    models = [
        _m("llama3.1", "Llama 3.1 is a new state-of-the-art model from Meta available in 8B, 70B and 405B "
           "parameter sizes.", "108.5M", 93, "2024-07-23T16:59:00", "tools", "8b 70b 405b"),
        _m("deepseek-r1", "DeepSeek-R1 is a family of open reasoning models with performance approaching that "
           "of leading models, such as O3 and Gemini 2.5 Pro.", "75.3M", 35, "2025-05-29T10:12:00",
           "tools thinking", "1.5b 7b 8b 14b 32b 70b 671b"),
        _m("llama3.2", "Meta's Llama 3.2 goes small with 1B and 3B models.", "50.1M", 63,
           "2024-09-25T14:01:00", "tools", "1b 3b"),
        _m("nomic-embed-text", "A high-performing open embedding model with a large token context window.",
           "44.6M", 3, "2024-02-20T18:30:00", "embedding"),
        _m("gemma3", "The current, most capable model that runs on a single GPU.", "28.4M", 29,
           "2025-08-14T09:45:00", "vision", "270m 1b 4b 12b 27b"),
        _m("mistral", "The 7B model released by Mistral AI, updated to version 0.3.", "21.3M", 84,
           "2025-01-27T11:20:00", "tools", "7b"),
        _m("qwen2.5", "Qwen2.5 models are pretrained on Alibaba's latest large-scale dataset, encompassing up "
           "to 18 trillion tokens. The model supports up to 128K tokens and has multilingual support.",
           "17.2M", 133, "2024-09-19T08:00:00", "tools", "0.5b 1.5b 3b 7b 14b 32b 72b"),
        _m("qwen3", "Qwen3 is the latest generation of large language models in Qwen series, offering a "
           "comprehensive suite of dense and mixture-of-experts (MoE) models.", "14.9M", 58,
           "2025-10-10T07:30:00", "tools thinking", "0.6b 1.7b 4b 8b 14b 30b 32b 235b"),
        _m("phi3", "Phi-3 is a family of lightweight 3B (Mini) and 14B (Medium) state-of-the-art open models "
           "by Microsoft.", "14.5M", 72, "2024-09-07T12:00:00", "", "3.8b 14b"),
        _m("llama3", "Meta Llama 3: The most capable openly available LLM to date", "11.2M", 68,
           "2024-05-21T13:00:00", "", "8b 70b"),
        _m("llava", "🌋 LLaVA is a novel end-to-end trained large multimodal model that combines a vision "
           "encoder and Vicuna for general-purpose visual and language understanding.", "10.1M", 98,
           "2024-02-02T15:00:00", "vision", "7b 13b 34b"),
        _m("gemma2", "Google Gemma 2 is a high-performing and efficient model available in three sizes: 2B, "
           "9B, and 27B.", "9.8M", 94, "2024-08-01T10:00:00", "", "2b 9b 27b"),
        _m("qwen2.5-coder", "The latest series of Code-Specific Qwen models, with significant improvements in "
           "code generation, code reasoning, and code fixing.", "7.9M", 199, "2025-05-01T09:00:00", "tools",
           "0.5b 1.5b 3b 7b 14b 32b"),
        _m("mxbai-embed-large", "State-of-the-art large embedding model from mixedbread.ai", "5.6M", 4,
           "2024-05-10T17:00:00", "embedding", "335m"),
        _m("phi4", "Phi-4 is a 14B parameter, state-of-the-art open model from Microsoft.", "5.1M", 5,
           "2025-01-10T12:00:00", "", "14b"),
        _m("gpt-oss", "OpenAI's open-weight models designed for powerful reasoning, agentic tasks, and "
           "versatile developer use cases.", "4.7M", 5, "2025-08-05T17:00:00", "tools thinking", "20b 120b"),
        _m("llama3.2-vision", "Llama 3.2 Vision is a collection of instruction-tuned image reasoning generative "
           "models in 11B and 90B sizes.", "3.4M", 9, "2025-05-13T12:00:00", "vision", "11b 90b"),
        _m("codellama", "A large language model that can use text prompts to generate and discuss code.",
           "3.1M", 199, "2024-07-18T09:00:00", "", "7b 13b 34b 70b"),
        _m("all-minilm", "Embedding models on very large sentence level datasets.", "1.9M", 10,
           "2024-05-15T09:00:00", "embedding", "22m 33m"),
        _m("qwen2.5vl", "Flagship vision-language model of Qwen and also a significant leap from the previous "
           "Qwen2-VL.", "1.8M", 17, "2025-05-20T09:00:00", "vision", "3b 7b 32b 72b"),
        _m("deepseek-coder", "DeepSeek Coder is a capable coding model trained on two trillion code and natural "
           "language tokens.", "1.6M", 102, "2024-01-05T09:00:00", "", "1.3b 6.7b 33b"),
        _m("mixtral", "A set of Mixture of Experts (MoE) model with open weights by Mistral AI in 8x7b and "
           "8x22b parameter sizes.", "1.2M", 70, "2024-12-20T09:00:00", "tools", "8x7b 8x22b"),
        _m("qwen3-coder", "Alibaba's performant long context models for agentic and coding tasks.", "1.1M", 10,
           "2025-11-28T09:00:00", "tools", "30b 480b"),
        _m("granite-embedding", "The IBM Granite Embedding 30M and 278M models are text-only dense biencoder "
           "embedding models.", "98.7K", 6, "2024-12-18T09:00:00", "embedding", "30m 278m"),
        _m("exaone-deep", "EXAONE Deep exhibits superior capabilities in various reasoning tasks including math "
           "and coding benchmarks, ranging from 2.4B to 32B parameters developed by LG AI Research.",
           "31.2K", 13, "2025-03-18T09:00:00", "thinking", "2.4b 7.8b 32b"),
        _m("sailor2", "Sailor2 are multilingual language models made for South-East Asia. Available in 1B, 8B, "
           "and 20B parameter sizes.", "9.8K", 13, "2024-12-04T09:00:00", "", "1b 8b 20b"),
        _m("command-r7b-arabic", "A new state-of-the-art version of the lightweight Command R7B model that "
           "excels in advanced Arabic language capabilities for enterprises in the Middle East & Northern "
           "Africa.", "2.1K", 5, "2025-02-27T09:00:00", "tools", "7b"),
        _m("r1-1776", "A version of the DeepSeek-R1 model that has been post trained by Perplexity to provide "
           "unbiased, accurate, and factual information.", "512", 9, "2025-12-13T09:00:00", "", "70b 671b"),
    ]  # fmt: skip
    return sorted(models, key=lambda m: m.name)


# --------------------------------------------------------------------------------------------------
# Rendering (always through html.escape)
# --------------------------------------------------------------------------------------------------

_SVG_DOWNLOAD = (
    '<svg class="mr-1.5 h-[14px] w-[14px] sm:h-4 sm:w-4" xmlns="http://www.w3.org/2000/svg" fill="none" '
    'viewBox="0 0 24 24" stroke-width="1.5" stroke="currentColor" aria-hidden="true"><path '
    'stroke-linecap="round" stroke-linejoin="round" d="M3 16.5v2.25A2.25 2.25 0 0 0 5.25 21h13.5A2.25 2.25 0 0 '
    '0 21 18.75V16.5M16.5 12 12 16.5m0 0L7.5 12m4.5 4.5V3"></path></svg>'
)
_SVG_TAG = (
    '<svg class="mr-1.5 h-[14px] w-[14px] sm:h-4 sm:w-4" xmlns="http://www.w3.org/2000/svg" fill="none" '
    'viewBox="0 0 24 24" stroke-width="1.5" stroke="currentColor" aria-hidden="true"><path '
    'stroke-linecap="round" stroke-linejoin="round" d="M9.568 3H5.25A2.25 2.25 0 0 0 3 5.25v4.318c0 '
    ".597.237 1.17.659 1.591l9.581 9.581c.699.699 1.78.872 2.607.33a18.095 18.095 0 0 0 5.223-5.223c.542-.827"
    '.369-1.908-.33-2.607L11.16 3.66A2.25 2.25 0 0 0 9.568 3Z"></path></svg>'
)
_SVG_CLOCK = (
    '<svg class="mr-1.5 h-[14px] w-[14px] sm:h-4 sm:w-4" xmlns="http://www.w3.org/2000/svg" fill="none" '
    'viewBox="0 0 24 24" stroke-width="1.5" stroke="currentColor" aria-hidden="true"><path '
    'stroke-linecap="round" stroke-linejoin="round" d="M12 6v6h4.5m4.5 0a9 9 0 1 1-18 0 9 9 0 0 1 18 0Z">'
    "</path></svg>"
)
_CAP_CLASS = (
    "inline-flex items-center rounded-md bg-indigo-50 px-2 py-[2px] text-xs sm:text-[13px] font-medium text-indigo-600"
)
_SIZE_CLASS = (
    "inline-flex items-center rounded-md bg-[#ddf4ff] px-2 py-[2px] text-xs sm:text-[13px] font-medium text-blue-600"
)


def _format_title_date(when: datetime) -> str:
    """``Jul 23, 2024 4:59 PM UTC`` as in the ``title`` attribute on ollama.com."""
    hour = when.hour % 12 or 12
    return f"{when:%b} {when.day}, {when.year} {hour}:{when:%M} {'AM' if when.hour < 12 else 'PM'} UTC"


_X_TEST = re.compile(r"x-test-[a-z-]+")


def render_model_card(model: OllamaModel, now: datetime = DEFAULT_NOW, markup: Markup = "x-test") -> str:
    card = _render_x_test_card(model, now)
    # The current site dropped the attributes and kept the space before them ("<li  class", "<span >").
    return _X_TEST.sub("", card) if markup == "current" else card


def render_bare_card(model: OllamaModel) -> str:
    """A card after a redesign that drops every fact: link, title and description only."""
    e = escape
    return (f'  <li class="card"><a href="/library/{e(model.name)}"><h2><span>{e(model.name)}</span></h2>'
            f"<p>{e(model.description)}</p></a></li>")


def _render_x_test_card(model: OllamaModel, now: datetime) -> str:
    e = escape
    caps = "".join(
        f'\n          <span x-test-capability class="{_CAP_CLASS}">{e(c)}</span>' for c in model.capabilities
    )
    sizes = "".join(f'\n          <span x-test-size class="{_SIZE_CLASS}">{e(s)}</span>' for s in model.sizes)
    return f"""  <li x-test-model class="flex items-baseline border-b border-neutral-200 py-6">
    <a href="/library/{e(model.name)}" class="group w-full">
      <div class="flex flex-col mb-1" title="{e(model.name)}">
        <h2 class="truncate text-xl font-medium underline-offset-2 group-hover:underline md:text-2xl">
          <span x-test-search-response-title>{e(model.name)}</span>
        </h2>
        <p class="max-w-lg break-words text-neutral-800 text-md">{e(model.description)}</p>
      </div>
      <div class="flex flex-col">
        <div class="flex flex-wrap space-x-2">{caps}{sizes}
        </div>
        <p class="my-2 flex space-x-5 text-[13px] font-medium text-neutral-500">
          <span class="flex items-center">{_SVG_DOWNLOAD}<span x-test-pull-count>{e(model.pulls)}</span>\
<span class="hidden sm:flex">&nbsp;Pulls</span></span>
          <span class="flex items-center">{_SVG_TAG}<span x-test-tag-count>{model.tag_count}</span>\
<span class="hidden sm:flex">&nbsp;Tags</span></span>
          <span class="flex items-center" title="{e(_format_title_date(model.updated))}">{_SVG_CLOCK}\
<span class="hidden sm:flex">Updated&nbsp;</span><span x-test-updated>{e(relative_time(model.updated, now))}</span>\
</span>
        </p>
      </div>
    </a>
  </li>"""


def _page(title: str, main: str, query: str = "") -> str:
    return f"""<!DOCTYPE html>
<html class="h-full overflow-y-scroll" lang="en">
<head>
  <meta charset="utf-8">
  <title>{escape(title)}</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="description" content="Get up and running with large language models.">
  <meta property="og:title" content="{escape(title)}">
  <link rel="icon" type="image/png" sizes="16x16" href="/public/icon-16x16.png">
  <link href="/public/tailwind.css?v=aa85ed4a0a4f" rel="stylesheet">
  <script type="application/ld+json">{{"@context": "https://schema.org", "@type": "WebSite", "name": "Ollama"}}</script>
  <script src="/public/vendor/htmx/bundle.js" defer></script>
</head>
<body class="antialiased min-h-screen w-full m-0 flex flex-col">
  <header class="sticky top-0 z-40 bg-white underline-offset-4 lg:static">
    <nav class="flex w-full items-center justify-between px-6 py-[9px]">
      <a href="/" class="z-50"><img src="/public/ollama.png" class="w-8" alt="Ollama"></a>
      <div class="hidden lg:flex xl:flex-1 items-center space-x-6 ml-6 mr-6 xl:mr-0 text-lg">
        <a class="hover:underline focus:underline" href="/blog">Blog</a>
        <a class="hover:underline focus:underline" href="https://docs.ollama.com">Docs</a>
        <a class="hover:underline focus:underline" href="/search">Models</a>
      </div>
      <form action="/search" autocomplete="off" class="relative flex w-full items-center">
        <input id="search" name="q" type="text" placeholder="Search models" value="{escape(query)}"
          class="w-full resize-none rounded-full border border-neutral-300 bg-transparent py-2.5 pl-10">
      </form>
      <a class="flex cursor-pointer items-center rounded-full bg-neutral-800 px-4 py-1 text-white" \
href="/signin">Sign in</a>
      <a class="flex cursor-pointer items-center rounded-full bg-neutral-800 px-4 py-1 text-white" \
href="/download">Download</a>
    </nav>
  </header>
  <main class="mx-auto flex w-full max-w-6xl flex-1 flex-col px-6 pb-10 pt-4">
{main}
  </main>
  <footer class="mt-auto">
    <div class="mx-auto flex max-w-6xl items-center justify-between px-6 py-8 text-sm text-neutral-500">
      <span>&copy; 2025 Ollama</span>
      <a class="hover:underline" href="/download">Download</a>
      <a class="hover:underline" href="/blog">Blog</a>
      <a class="hover:underline" href="https://docs.ollama.com">Docs</a>
      <a class="hover:underline" href="https://github.com/ollama/ollama">GitHub</a>
      <a class="hover:underline" href="https://discord.com/invite/ollama">Discord</a>
    </div>
  </footer>
  <script>
    document.addEventListener("keydown", function (e) {{ if (e.key === "/" ) {{ e.preventDefault(); \
document.getElementById("search").focus(); }} }});
  </script>
</body>
</html>
"""


def _model_list(models: Iterable[OllamaModel], now: datetime, markup: Markup = "x-test") -> str:
    cards = "\n".join(render_model_card(m, now, markup) for m in models)
    return f'<ul role="list" class="grid grid-cols-1 gap-y-3">\n{cards}\n</ul>'


def _sort_bar(path: str, active: str, extra: str = "") -> str:
    links = []
    for key, label in (("popular", "Popular"), ("newest", "Newest")):
        param = "sort" if path == "/library" else "o"
        href = f"{path}?{param}={key}{extra}"
        cls = "font-medium text-neutral-900" if key == active else "text-neutral-500"
        links.append(f'<a href="{escape(href)}" class="{cls}">{label}</a>')
    return '<div class="flex space-x-4 py-4 text-sm">' + "".join(links) + "</div>"


GARBAGE_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Ollama</title>
<script type="module" src="/assets/index-3f9a1c2b.js"></script></head>
<body><div id="root"><div class="skeleton">Loading models&hellip;</div>
<section class="catalogue" data-layout="v2"><article class="card card--placeholder"></article></section></div>
<noscript>You need to enable JavaScript to run this app.</noscript></body></html>
"""

ERROR_PAGE = """<!DOCTYPE html>
<html><head><title>503 Service Unavailable</title></head>
<body><h1>503 Service Unavailable</h1><p>The server is temporarily unable to service your request.</p></body></html>
"""


class _Instrument:
    def __init__(self, app: ASGIApp, library: FakeOllamaLibrary) -> None:
        self.app = app
        self.library = library

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        self.library.hits[path] += 1
        lib = self.library
        fault = lib.fault if lib.fault_paths is None or any(path.startswith(p) for p in lib.fault_paths) else None
        response: Response | None = None
        if fault == "slow":
            await asyncio.sleep(lib.slow_seconds)
        elif fault == "error":
            response = HTMLResponse(ERROR_PAGE, status_code=503)
        elif fault == "garbage":
            response = HTMLResponse(GARBAGE_PAGE)
        elif fault == "bare":
            cards = "\n".join(render_bare_card(m) for m in lib.ordered("popular"))
            response = HTMLResponse(_page("library", f'<ul role="list">\n{cards}\n</ul>'))
        elif fault is not None:
            raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS}")
        elif lib.pages is not None:
            name = lib.pages.get(path)
            response = (HTMLResponse(read_capture(name)) if name is not None
                        else HTMLResponse(f"<html><body>no capture for {escape(path)}</body></html>", 404))
        if response is not None:
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class FakeOllamaLibrary:
    """State + Starlette app of a fake ollama.com library.

    Attributes (all mutable from tests):
      models:       list of :class:`OllamaModel` (name, description, pulls text, tag_count, updated,
                    capabilities, sizes)
      now:          reference time for the "Updated ... ago" texts (default 2025-12-15 12:00 UTC)
      markup:       "x-test" (cards with the x-test-* attributes) | "current" (without them, as since 2026-08)
      pages:        None, or URL path -> real capture file to serve instead of rendered pages
      fault:        None | "garbage" (200, changed layout, no model markup) | "bare" (200, cards without facts) |
                    "error" (503) | "slow" (sleep ``slow_seconds``, then answer normally)
      fault_paths:  if not None, the fault only applies to paths starting with one of these prefixes
      slow_seconds: delay for the "slow" fault (default 5)
      hits:         Counter of requests per URL path
      app:          the ASGI app (serve it with ``LiveServer(library.app)``)
    """

    def __init__(
        self,
        models: list[OllamaModel] | None = None,
        *,
        slow_seconds: float = 5.0,
        now: datetime = DEFAULT_NOW,
        markup: Markup = "x-test",
        pages: Mapping[str, str] | None = None,
    ) -> None:
        self.models: list[OllamaModel] = list(models) if models is not None else seed_models()
        self.now = now
        self.markup: Markup = markup
        self.pages: Mapping[str, str] | None = pages
        self._served = (markup, pages)
        self.fault: Fault | None = None
        self.fault_paths: set[str] | None = None
        self.slow_seconds = slow_seconds
        self.hits: Counter[str] = Counter()
        routes = [
            Route("/library", self._library, methods=["GET"]),
            Route("/search", self._search, methods=["GET"]),
        ]
        self.app: ASGIApp = _Instrument(Starlette(routes=routes), self)

    def reset(self) -> None:
        self.fault = None
        self.fault_paths = None
        self.markup, self.pages = self._served
        self.hits.clear()

    def ordered(self, order: str) -> list[OllamaModel]:
        """Models in the site's order: ``newest`` by update date, anything else by pull count."""
        if order == "newest":
            return sorted(self.models, key=lambda m: (m.updated, m.name), reverse=True)
        return sorted(self.models, key=lambda m: (m.pull_count, m.name), reverse=True)

    def search(self, query: str = "", capabilities: Iterable[str] = (), order: str = "popular") -> list[OllamaModel]:
        q = query.strip().lower()
        wanted = set(capabilities)
        return [
            m
            for m in self.ordered(order)
            if (not q or q in m.name.lower() or q in m.description.lower()) and wanted <= set(m.capabilities)
        ]

    async def _library(self, request: Request) -> Response:
        order = request.query_params.get("sort", "popular")
        main = (
            _sort_bar("/library", "newest" if order == "newest" else "popular")
            + "\n"
            + _model_list(self.ordered(order), self.now, self.markup)
        )
        return HTMLResponse(_page("library", main))

    async def _search(self, request: Request) -> Response:
        q = request.query_params.get("q", "")
        caps = [c for c in request.query_params.getlist("c") if c]
        order = request.query_params.get("o", "popular")
        found = self.search(q, caps, order)
        params = [("c", c) for c in caps] + ([("q", q)] if q else [])
        extra = "&" + urlencode(params) if params else ""
        parts = [_sort_bar("/search", "newest" if order == "newest" else "popular", extra)]
        if not found:
            parts.append(
                f'<p class="py-10 text-center text-neutral-500">No models found for &ldquo;{escape(q)}&rdquo;.</p>'
            )
        parts.append(_model_list(found, self.now, self.markup))
        title = f"{q} · Ollama Search" if q else "Ollama Search"
        return HTMLResponse(_page(title, "\n".join(parts), query=q))
