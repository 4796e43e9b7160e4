"""The fakes must speak the real protocols: check them with the official clients and parsers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser
import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.hf_api import ModelInfo, PaperInfo, SafeTensorsInfo
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from tests.fakes import FakeHub, FakeOllamaLibrary, LiveServer
from tests.fakes.hub import LIST_DEFAULT_FIELDS
from tests.fakes.ollama_library import OllamaModel, parse_pull_count, relative_time

EXPAND = [
    "downloads",
    "likes",
    "tags",
    "pipeline_tag",
    "safetensors",
    "gguf",
    "lastModified",
    "trendingScore",
    "library_name",
]


# --------------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub_server() -> Iterator[tuple[FakeHub, LiveServer]]:
    hub = FakeHub()
    with LiveServer(hub.app) as server:
        yield hub, server


@pytest.fixture(scope="module")
def library_server() -> Iterator[tuple[FakeOllamaLibrary, LiveServer]]:
    library = FakeOllamaLibrary()
    with LiveServer(library.app) as server:
        yield library, server


@pytest.fixture
def hub(hub_server: tuple[FakeHub, LiveServer]) -> Iterator[FakeHub]:
    fake = hub_server[0]
    fake.reset()
    yield fake
    fake.reset()


@pytest.fixture
def hub_url(hub_server: tuple[FakeHub, LiveServer]) -> str:
    return hub_server[1].url


@pytest.fixture
def api(hub_url: str) -> HfApi:
    return HfApi(endpoint=hub_url, token=False)


@pytest.fixture
def library(library_server: tuple[FakeOllamaLibrary, LiveServer]) -> Iterator[FakeOllamaLibrary]:
    fake = library_server[0]
    fake.reset()
    yield fake
    fake.reset()


@pytest.fixture
def library_url(library_server: tuple[FakeOllamaLibrary, LiveServer]) -> str:
    return library_server[1].url


def _gguf_ids(hub: FakeHub) -> set[str]:
    return {m["id"] for m in hub.models if "gguf" in m["tags"]}


# --------------------------------------------------------------------------------------------------
# Hub: models
# --------------------------------------------------------------------------------------------------


def test_seed_is_varied(hub: FakeHub) -> None:
    assert len(hub.models) >= 30
    assert len({m["trendingScore"] for m in hub.models}) == len(hub.models)
    assert len({m["downloads"] for m in hub.models}) == len(hub.models)
    assert len({m["likes"] for m in hub.models}) == len(hub.models)
    assert len(_gguf_ids(hub)) >= 3
    assert any("safetensors" not in m and "gguf" not in m for m in hub.models)
    for m in hub.models:
        assert m["createdAt"].endswith(".000Z") and m["lastModified"].endswith(".000Z")
        assert m["id"] == m["modelId"] and m["author"] == m["id"].split("/")[0]
        assert m["private"] is False and m["gated"] is False
        # Ids of non-GGUF repos must not contain "gguf" (search="gguf" must find GGUF repos only).
        assert ("gguf" in m["id"].lower()) == ("gguf" in m["tags"])


def test_list_models_trending_with_expand(api: HfApi, hub: FakeHub) -> None:
    models = list(api.list_models(sort="trending_score", limit=5, expand=EXPAND))  # type: ignore[arg-type]
    assert len(models) == 5
    assert all(isinstance(m, ModelInfo) for m in models)
    expected = sorted(hub.models, key=lambda m: m["trendingScore"], reverse=True)[:5]
    assert [m.id for m in models] == [m["id"] for m in expected]
    scores = [m.trending_score or 0 for m in models]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 5
    for info, raw in zip(models, expected, strict=True):
        assert info.downloads == raw["downloads"] and info.likes == raw["likes"]
        assert info.tags == raw["tags"] and info.pipeline_tag == raw["pipeline_tag"]
        assert info.library_name == raw["library_name"]
        assert info.last_modified == datetime.fromisoformat(raw["lastModified"].replace("Z", "+00:00"))
        assert isinstance(info.safetensors, SafeTensorsInfo)
        assert info.safetensors.total == raw["safetensors"]["total"] > 0
        assert info.gguf is None
        # Not requested: the real Hub leaves them out when `expand` is given.
        assert info.created_at is None and info.author is None and info.sha is None


def test_list_models_expand_returns_only_requested_properties(hub: FakeHub, hub_url: str) -> None:
    for key in ("expand", "expand[]"):
        r = httpx.get(f"{hub_url}/api/models", params=[("limit", "3"), (key, "downloads"), (key, "gguf")])
        assert r.status_code == 200
        for item in r.json():
            assert set(item) <= {"_id", "id", "downloads", "gguf"}
            assert {"_id", "id", "downloads"} <= set(item)
    r = httpx.get(f"{hub_url}/api/models", params={"expand": "notAProperty"})
    assert r.status_code == 400 and "error" in r.json()


def test_list_models_default_and_full_shapes(hub: FakeHub, hub_url: str) -> None:
    plain = httpx.get(f"{hub_url}/api/models", params={"limit": 50}).json()
    assert len(plain) == len(hub.models)
    for item in plain:
        assert set(item) <= set(LIST_DEFAULT_FIELDS)
        assert {"_id", "id", "modelId", "likes", "downloads", "trendingScore", "tags", "createdAt"} <= set(item)
    full = httpx.get(f"{hub_url}/api/models", params={"limit": 2, "full": "true"}).json()
    assert all({"author", "lastModified", "sha", "siblings", "gated"} <= set(item) for item in full)
    assert "Link" not in httpx.get(f"{hub_url}/api/models", params={"limit": 2}).headers


def test_list_models_search_gguf(api: HfApi, hub: FakeHub) -> None:
    found = list(api.list_models(search="gguf", limit=50))
    assert {m.id for m in found} == _gguf_ids(hub)
    assert all("gguf" in (m.tags or []) for m in found)


def test_list_models_sorts_and_filters(api: HfApi, hub: FakeHub) -> None:
    by_downloads = [m.downloads for m in api.list_models(sort="downloads", limit=10, expand=["downloads"])]
    by_likes_models = list(api.list_models(sort="likes", limit=10, expand=["likes"]))
    by_likes = [m.likes for m in by_likes_models]
    assert by_downloads == sorted((m["downloads"] for m in hub.models), reverse=True)[:10]
    assert by_likes == sorted((m["likes"] for m in hub.models), reverse=True)[:10]
    newest = [m.id for m in api.list_models(sort="created_at", limit=3)]
    assert newest == [m["id"] for m in sorted(hub.models, key=lambda m: m["createdAt"], reverse=True)[:3]]
    qwen = list(api.list_models(author="Qwen"))
    assert qwen and all(m.id.startswith("Qwen/") for m in qwen)
    assert len(qwen) == sum(m["author"] == "Qwen" for m in hub.models)
    assert {m.id for m in api.list_models(filter="gguf")} == _gguf_ids(hub)
    gguf_infos = list(api.list_models(search="GGUF", expand=["gguf"]))
    with_meta = [m for m in gguf_infos if m.gguf]
    assert with_meta and all(m.gguf["context_length"] > 0 for m in with_meta)  # type: ignore[index]
    assert any(m.gguf is None for m in gguf_infos)


def test_model_info(api: HfApi, hub: FakeHub) -> None:
    info = api.model_info("meta-llama/Llama-3.1-8B-Instruct")
    assert info.id == "meta-llama/Llama-3.1-8B-Instruct" and info.author == "meta-llama"
    assert info.sha is not None and len(info.sha) == 40
    assert info.safetensors is not None and info.safetensors.total == 8_030_261_248
    assert info.safetensors.parameters == {"BF16": 8_030_261_248}
    assert info.siblings is not None
    assert "config.json" in {s.rfilename for s in info.siblings}
    gguf = api.model_info("bartowski/Llama-3.2-3B-Instruct-GGUF")
    assert gguf.gguf is not None and gguf.gguf["architecture"] == "llama"
    assert gguf.siblings is not None
    assert any(s.rfilename.endswith("-Q4_K_M.gguf") for s in gguf.siblings)
    expanded = api.model_info("Qwen/Qwen3-8B", expand=["downloads"])
    assert expanded.downloads == hub.model("Qwen/Qwen3-8B")["downloads"]  # type: ignore[index]
    assert expanded.siblings is None and expanded.author is None


def test_model_info_unknown_repo(api: HfApi, hub_url: str) -> None:
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("nobody/does-not-exist")
    r = httpx.get(f"{hub_url}/api/models/nobody/does-not-exist")
    assert r.status_code == 404
    assert r.headers["X-Error-Code"] == "RepoNotFound"
    assert r.json() == {"error": "Repository not found"}


# --------------------------------------------------------------------------------------------------
# Hub: daily papers
# --------------------------------------------------------------------------------------------------


def _listed(raw: dict[str, Any]) -> str:
    """The day the Hub listed a paper (today's answers: ``paper.submittedOnDailyAt``)."""
    return str(raw["paper"]["submittedOnDailyAt"])


def test_daily_papers_month(api: HfApi, hub: FakeHub) -> None:
    # huggingface_hub keeps the top-level publishedAt (a time taken from the arXiv date) as `submitted_at` and
    # drops `paper.submittedOnDailyAt`; `month` filters on the latter, like the real Hub.
    december = list(api.list_daily_papers(month="2025-12"))
    november = list(api.list_daily_papers(month="2025-11"))
    assert december and november
    listed_in = {month: [p for p in hub.papers if _listed(p).startswith(month)] for month in ("2025-11", "2025-12")}
    assert [p.id for p in december] == [p["paper"]["id"] for p in listed_in["2025-12"]]
    assert [p.id for p in november] == [p["paper"]["id"] for p in listed_in["2025-11"]]
    raw = {p["paper"]["id"]: p for p in hub.papers}
    for paper in december:
        assert isinstance(paper, PaperInfo)
        source = raw[paper.id]
        assert paper.published_at == datetime.fromisoformat(source["paper"]["publishedAt"].replace("Z", "+00:00"))
        assert paper.submitted_at == datetime.fromisoformat(source["publishedAt"].replace("Z", "+00:00"))
        assert paper.published_at is not None and paper.published_at <= datetime.fromisoformat(
            _listed(source).replace("Z", "+00:00")
        )
        assert paper.title and paper.summary and paper.authors
        assert all(a.name for a in paper.authors)
    # Listed in December, posted to arXiv in November: the listing decides.
    assert any(p.published_at is not None and p.published_at.month == 11 for p in december)


def test_daily_papers_limit_paging_sort_and_date(api: HfApi, hub: FakeHub) -> None:
    three = list(api.list_daily_papers(limit=3))
    assert len(three) == 3
    newest = sorted(hub.papers, key=_listed, reverse=True)
    assert [p.id for p in three] == [p["paper"]["id"] for p in newest[:3]]
    page1 = list(api.list_daily_papers(limit=3, p=1))
    assert [p.id for p in page1] == [p["paper"]["id"] for p in newest[3:6]]
    trending = list(api.list_daily_papers(limit=5, sort="trending"))
    upvotes = [p.upvotes for p in trending]
    assert upvotes == sorted((p["paper"]["upvotes"] for p in hub.papers), reverse=True)[:5]
    day = _listed(newest[0])[:10]
    on_day = list(api.list_daily_papers(date=day))
    assert on_day and {p.id for p in on_day} == {p["paper"]["id"] for p in hub.papers if _listed(p)[:10] == day}
    with pytest.raises(HfHubHTTPError):
        list(api.list_daily_papers(month="December"))


def test_daily_papers_raw_shape(hub_url: str) -> None:
    items = httpx.get(f"{hub_url}/api/daily_papers", params={"limit": 100}).json()
    assert len(items) == 40
    assert any(len(p["summary"]) > 800 and "\n" in p["summary"] for p in items)
    for item in items:
        assert {"paper", "publishedAt", "title", "summary", "thumbnail", "numComments", "submittedBy"} <= set(item)
        assert {"id", "authors", "publishedAt", "title", "summary", "upvotes", "discussionId"} <= set(item["paper"])
        assert item["thumbnail"].startswith(hub_url + "/")
        assert item["submittedBy"]["type"] == "user" and item["submittedBy"]["name"]


# --------------------------------------------------------------------------------------------------
# Hub: blog feed, auth, redirect
# --------------------------------------------------------------------------------------------------


def test_blog_feed_parses(hub: FakeHub, hub_url: str) -> None:
    r = httpx.get(f"{hub_url}/blog/feed.xml")
    assert r.headers["content-type"].startswith("application/rss+xml")
    feed = feedparser.parse(r.content)
    assert feed.bozo == 0
    assert feed.feed.title == "Hugging Face - Blog"
    assert len(feed.entries) >= 12
    for entry in feed.entries:
        assert entry.title and entry.link.startswith(f"{hub_url}/blog/")
        assert entry.published_parsed is not None
        assert "<p>" in entry.summary
    assert any(len(e.summary) > 600 for e in feed.entries)
    assert any("author" in e for e in feed.entries) and any("author" not in e for e in feed.entries)
    assert any("&" in e.title for e in feed.entries)  # '&' survives CDATA unescaped
    stamps = [time.mktime(e.published_parsed) for e in feed.entries]
    assert stamps == sorted(stamps, reverse=True)


def test_whoami_and_auth_recording(hub: FakeHub, hub_url: str) -> None:
    anonymous = httpx.get(f"{hub_url}/api/whoami-v2")
    assert anonymous.status_code == 401 and "error" in anonymous.json()
    assert httpx.get(f"{hub_url}/api/whoami-v2", headers={"Authorization": "Basic abc"}).status_code == 401
    me = HfApi(endpoint=hub_url, token="hf_secret").whoami()
    assert me["name"] == "tester" and me["type"] == "user"
    assert ("/api/whoami-v2", None) in hub.auth_headers
    assert ("/api/whoami-v2", "Bearer hf_secret") in hub.auth_headers
    assert ("/api/whoami-v2", "Basic abc") in hub.auth_headers
    assert hub.hits["/api/whoami-v2"] == 3


def test_redirect_elsewhere_drops_token_cross_origin(hub: FakeHub, hub_url: str) -> None:
    other = FakeHub()
    with LiveServer(other.app) as other_server:
        target = f"{other_server.url}/api/whoami-v2"
        r = httpx.get(f"{hub_url}/redirect-elsewhere", params={"to": target})
        assert r.status_code == 302 and r.headers["location"] == target
        headers = {"Authorization": "Bearer hf_secret"}
        followed = httpx.get(
            f"{hub_url}/redirect-elsewhere", params={"to": target}, headers=headers, follow_redirects=True
        )
        assert followed.status_code == 401  # httpx dropped the token on the cross-origin hop
    assert ("/redirect-elsewhere", "Bearer hf_secret") in hub.auth_headers
    assert other.auth_headers == [("/api/whoami-v2", None)]


def test_hits_counter(hub: FakeHub, hub_url: str) -> None:
    for _ in range(3):
        httpx.get(f"{hub_url}/api/models", params={"limit": 1})
    httpx.get(f"{hub_url}/api/daily_papers")
    assert hub.hits["/api/models"] == 3 and hub.hits["/api/daily_papers"] == 1
    assert sum(hub.hits.values()) == 4


# --------------------------------------------------------------------------------------------------
# Ollama library
# --------------------------------------------------------------------------------------------------


def _cards(page: str) -> list[dict[str, Any]]:
    tree = HTMLParser(page)
    cards: list[dict[str, Any]] = []
    for li in tree.css("li[x-test-model]"):
        title = li.css_first("[x-test-search-response-title]")
        pulls = li.css_first("[x-test-pull-count]")
        tags = li.css_first("[x-test-tag-count]")
        updated = li.css_first("[x-test-updated]")
        link = li.css_first("a")
        desc = li.css_first("p")
        assert title and pulls and tags and updated and link and desc
        cards.append(
            {
                "name": title.text(strip=True),
                "href": link.attributes.get("href"),
                "description": desc.text(strip=True),
                "capabilities": [s.text(strip=True) for s in li.css("[x-test-capability]")],
                "sizes": [s.text(strip=True) for s in li.css("[x-test-size]")],
                "pulls": pulls.text(strip=True),
                "tags": int(tags.text(strip=True)),
                "updated": updated.text(strip=True),
                "updated_title": updated.parent.attributes.get("title") if updated.parent else None,
            }
        )
    return cards


def test_library_page_popular(library: FakeOllamaLibrary, library_url: str) -> None:
    r = httpx.get(f"{library_url}/library")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    tree = HTMLParser(r.text)
    assert tree.css_first("head title") is not None and tree.css_first("footer") is not None
    cards = _cards(r.text)
    assert len(library.models) >= 25
    assert len(cards) == len(library.models)
    assert {c["name"] for c in cards} == {m.name for m in library.models}
    counts = [parse_pull_count(str(c["pulls"])) for c in cards]
    assert counts == sorted(counts, reverse=True) and len(set(counts)) == len(counts)
    assert cards[0]["name"] == "llama3.1" and cards[0]["pulls"] == "108.5M"
    first = cards[0]
    assert first["href"] == "/library/llama3.1"
    assert first["capabilities"] == ["tools"] and first["sizes"] == ["8b", "70b", "405b"]
    assert first["tags"] == 93 and first["updated"] == "1 year ago"
    assert first["updated_title"] == "Jul 23, 2024 4:59 PM UTC"
    assert _cards(httpx.get(f"{library_url}/library", params={"sort": "popular"}).text) == cards
    pull_texts = {str(c["pulls"]) for c in cards}
    assert {"9.8K", "512"} <= pull_texts
    by_name = {c["name"]: c for c in cards}
    assert by_name["nomic-embed-text"]["capabilities"] == ["embedding"]
    assert "vision" in by_name["llava"]["capabilities"]
    assert {"tools", "thinking"} <= set(by_name["qwen3"]["capabilities"])


def test_library_page_newest(library: FakeOllamaLibrary, library_url: str) -> None:
    cards = _cards(httpx.get(f"{library_url}/library", params={"sort": "newest"}).text)
    expected = sorted(library.models, key=lambda m: m.updated, reverse=True)
    assert [c["name"] for c in cards] == [m.name for m in expected]
    assert cards[0]["name"] != _cards(httpx.get(f"{library_url}/library").text)[0]["name"]


def test_search_page(library: FakeOllamaLibrary, library_url: str) -> None:
    cards = _cards(httpx.get(f"{library_url}/search", params={"q": "qwen"}).text)
    names = [str(c["name"]) for c in cards]
    assert len(names) >= 4 and all("qwen" in n for n in names)
    assert set(names) == {m.name for m in library.models if "qwen" in m.name}
    upper = _cards(httpx.get(f"{library_url}/search", params={"q": "QWEN"}).text)
    assert [c["name"] for c in upper] == names
    # Match on the description too.
    by_desc = [c["name"] for c in _cards(httpx.get(f"{library_url}/search", params={"q": "mixedbread"}).text)]
    assert by_desc == ["mxbai-embed-large"]
    embed = _cards(httpx.get(f"{library_url}/search", params={"c": "embedding"}).text)
    assert embed and all(c["capabilities"] == ["embedding"] for c in embed)
    assert len(embed) == sum("embedding" in m.capabilities for m in library.models)
    vision_qwen = _cards(httpx.get(f"{library_url}/search", params={"q": "qwen", "c": "vision"}).text)
    assert [c["name"] for c in vision_qwen] == ["qwen2.5vl"]
    newest = _cards(httpx.get(f"{library_url}/search", params={"q": "qwen", "o": "newest"}).text)
    assert newest[0]["name"] == "qwen3-coder"
    empty = httpx.get(f"{library_url}/search", params={"q": "zzz-no-such-model"})
    assert empty.status_code == 200 and _cards(empty.text) == []


def test_library_escapes_html() -> None:
    evil = OllamaModel(
        name="evil<b>&model",
        description='<script>alert("x")</script> & "quotes"',
        pulls="1.5K",
        tag_count=1,
        updated=datetime(2025, 12, 14, tzinfo=UTC),
        capabilities=["<i>tools</i>"],
        sizes=["7b"],
    )
    library = FakeOllamaLibrary(models=[evil])
    with LiveServer(library.app) as server:
        page = httpx.get(f"{server.url}/search", params={"q": "evil<b>"}).text
    tree = HTMLParser(page)
    assert tree.css("script") and all("alert" not in s.text() for s in tree.css("script"))
    assert tree.css_first("li[x-test-model] b") is None and tree.css_first("li[x-test-model] i") is None
    cards = _cards(page)
    assert cards[0]["name"] == "evil<b>&model"
    assert cards[0]["description"] == '<script>alert("x")</script> & "quotes"'
    assert cards[0]["capabilities"] == ["<i>tools</i>"] and cards[0]["updated"] == "yesterday"


def test_pull_count_and_relative_time_helpers() -> None:
    assert parse_pull_count("108.5M") == 108_500_000
    assert parse_pull_count("9.8K") == 9_800 and parse_pull_count("512") == 512
    with pytest.raises(ValueError):
        parse_pull_count("lots")
    now = datetime(2025, 12, 15, 12, tzinfo=UTC)
    assert relative_time(datetime(2024, 7, 23, tzinfo=UTC), now) == "1 year ago"
    assert relative_time(datetime(2025, 10, 10, tzinfo=UTC), now) == "2 months ago"
    assert relative_time(datetime(2025, 12, 1, tzinfo=UTC), now) == "2 weeks ago"
    assert relative_time(datetime(2025, 12, 15, 9, tzinfo=UTC), now) == "3 hours ago"


# --------------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------------


def test_hub_fault_garbage(api: HfApi, hub: FakeHub, hub_url: str) -> None:
    hub.fault = "garbage"
    r = httpx.get(f"{hub_url}/api/models")
    assert r.status_code == 200 and r.text == "<html>oops"
    with pytest.raises(ValueError):
        r.json()
    with pytest.raises(ValueError):
        list(api.list_models(limit=5))
    with pytest.raises(ValueError):
        list(api.list_daily_papers(limit=3))
    feed_r = httpx.get(f"{hub_url}/blog/feed.xml")
    assert feed_r.status_code == 200 and feed_r.text == "not a feed {{{"
    feed = feedparser.parse(feed_r.content)
    assert feed.bozo == 1 and feed.entries == []
    assert hub.hits["/api/models"] == 2


def test_hub_fault_error(api: HfApi, hub: FakeHub, hub_url: str) -> None:
    hub.fault = "error"
    for path in ("/api/models", "/api/daily_papers", "/blog/feed.xml", "/api/models/Qwen/Qwen3-8B"):
        r = httpx.get(hub_url + path)
        assert r.status_code == 500 and r.json() == {"error": "boom"}
    # (list_models goes through huggingface_hub's http_backoff, which retries 5xx for ~23 s: use the
    # endpoints that do not retry.)
    with pytest.raises(HfHubHTTPError) as excinfo:
        list(api.list_daily_papers(limit=1))
    assert excinfo.value.response is not None and excinfo.value.response.status_code == 500
    with pytest.raises(HfHubHTTPError):
        api.model_info("Qwen/Qwen3-8B")
    hub.fault = None
    assert len(list(api.list_models(limit=1))) == 1


def test_hub_fault_slow(api: HfApi, hub: FakeHub, hub_url: str) -> None:
    hub.fault = "slow"
    hub.slow_seconds = 0.3
    try:
        start = time.monotonic()
        models = list(api.list_models(limit=2))
        assert time.monotonic() - start >= 0.3
        assert len(models) == 2  # answered normally after the delay
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{hub_url}/api/daily_papers", timeout=0.05)
    finally:
        hub.slow_seconds = 5.0


def test_hub_fault_paths(api: HfApi, hub: FakeHub) -> None:
    hub.fault = "error"
    hub.fault_paths = {"/api/daily_papers"}
    assert len(list(api.list_models(limit=2))) == 2
    with pytest.raises(HfHubHTTPError):
        list(api.list_daily_papers(limit=2))


def test_library_faults(library: FakeOllamaLibrary, library_url: str) -> None:
    library.fault = "garbage"
    r = httpx.get(f"{library_url}/library")
    assert r.status_code == 200 and "<html" in r.text
    assert HTMLParser(r.text).css("li[x-test-model]") == [] and _cards(r.text) == []
    library.fault = "error"
    assert httpx.get(f"{library_url}/search", params={"q": "qwen"}).status_code == 503
    library.fault = "slow"
    library.slow_seconds = 0.3
    try:
        start = time.monotonic()
        r = httpx.get(f"{library_url}/library")
        assert time.monotonic() - start >= 0.3
        assert len(_cards(r.text)) == len(library.models)
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{library_url}/library", timeout=0.05)
    finally:
        library.slow_seconds = 5.0
    assert library.hits["/library"] == 3 and library.hits["/search"] == 1


def test_live_server_stop_refuses_connections_and_restarts() -> None:
    hub = FakeHub()
    server = LiveServer(hub.app).start()
    url = server.url
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
    assert httpx.get(f"{url}/api/models", params={"limit": 1}).status_code == 200
    server.stop()
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/api/models", params={"limit": 1})
    server.start()
    try:
        assert server.url == url
        assert httpx.get(f"{url}/api/models", params={"limit": 1}).status_code == 200
    finally:
        server.stop()
