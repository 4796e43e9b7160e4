"""Small pieces with sharp edges: settings, atomic state files, HTML and text helpers, the TTL cache."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from venom_mcp.adapters.news import plain_text, trim
from venom_mcp.adapters.ollama_library import parse_count, parse_library_html
from venom_mcp.cache import TTLCache
from venom_mcp.config import Settings
from venom_mcp.errors import LayoutChanged, StateError
from venom_mcp.services import profile
from venom_mcp.store import atomic_write_json, read_json


def test_settings_defaults_and_environment_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("VENOM_HOME", "HF_ENDPOINT", "VENOM_OLLAMA_LIBRARY_URL", "MODELS_CACHE_DIR", "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    defaults = Settings(_env_file=None)
    assert defaults.hf_endpoint == "https://huggingface.co"
    assert defaults.ollama_host == "http://127.0.0.1:11434"
    assert defaults.models_max_disk_gb == 50 and defaults.cache_ttl_seconds == 1800
    assert defaults.runtime_profile == "light" and profile.local(defaults) == ("ollama",)
    assert defaults.ollama_profile == "balanced-12-24gb"
    assert defaults.venom_home.name == "venom-mcp"
    assert defaults.models_cache_dir == defaults.venom_home / "models"
    assert "{served_model_name}" in defaults.vllm_command
    monkeypatch.setenv("VENOM_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("VENOM_OLLAMA_LIBRARY_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("HF_TOKEN", "hf_abcdef")
    monkeypatch.setenv("VENOM_RUNTIME_PROFILE", "full")
    configured = Settings(_env_file=None)
    assert configured.ollama_library_url == "http://127.0.0.1:9"
    assert profile.local(configured) == ("ollama", "vllm", "llamacpp")
    assert "hf_abcdef" not in repr(configured) and configured.secrets() == ["hf_abcdef"]
    assert not (tmp_path / "h").exists(), "VENOM_HOME is created on first use, not on load"
    configured.path("cache")
    assert (tmp_path / "h").is_dir()


def test_settings_reads_dotenv_and_rejects_bad_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VENOM_CACHE_TTL_SECONDS", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("VENOM_CACHE_TTL_SECONDS=60\n", encoding="utf-8")
    assert Settings().cache_ttl_seconds == 60
    with pytest.raises(ValueError, match="http"):
        Settings(_env_file=None, hf_endpoint="huggingface.co")
    with pytest.raises(ValueError, match="light"):
        Settings(_env_file=None, runtime_profile="heavy")  # type: ignore[arg-type]


def test_atomic_write_leaves_no_temp_files_and_corrupt_files_raise(tmp_path: Path) -> None:
    target = tmp_path / "state" / "runtime.json"
    atomic_write_json(target, {"a": 1})
    atomic_write_json(target, {"a": 2, "text": "zażółć"})
    assert json.loads(target.read_text(encoding="utf-8")) == {"a": 2, "text": "zażółć"}
    assert [p.name for p in target.parent.iterdir()] == ["runtime.json"]
    assert read_json(tmp_path / "missing.json") is None
    target.write_text("{ torn", encoding="utf-8")
    with pytest.raises(StateError, match="not valid JSON"):
        read_json(target)


def test_atomic_write_keeps_the_old_file_when_serialising_fails(tmp_path: Path) -> None:
    target = tmp_path / "manifest.json"
    atomic_write_json(target, {"ok": True})

    class Boom:
        def __str__(self) -> str:
            raise RuntimeError("cannot serialise")

    with pytest.raises(RuntimeError):
        atomic_write_json(target, {"bad": Boom()})
    assert json.loads(target.read_text(encoding="utf-8")) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("108.5M", 108_500_000), ("9.8K", 9_800), ("512", 512), ("1,204", 1_204), ("2B", 2_000_000_000),
     ("", None), ("lots", None)],
)
def test_parse_count(text: str, expected: int | None) -> None:
    assert parse_count(text) == expected


def test_trim_and_plain_text() -> None:
    assert plain_text("<p>We are <b>excited</b> &amp; happy</p>\n<p>Second</p>") == "We are excited & happy Second"
    assert plain_text("Tom &amp; Jerry") == "Tom & Jerry"
    long = "word " * 200
    cut = trim(long.strip(), 50)
    assert len(cut) <= 50 and cut.endswith("word…")
    assert trim("short", 50) == "short"


def test_library_parser_reports_cards_without_facts_as_a_layout_change() -> None:
    # Cards found by their links but showing no pull count, chip or date: a catalog that looks fine and is empty
    # of facts must not pass as fresh (tests/test_ollama_library_real.py reads the real markups).
    html = """<html><body><nav><input name="q"></nav><ul>
      <li><a href="/library/qwen3"><h2>qwen3</h2><p>Qwen3 models</p></a></li>
      <li><a href="/library/gemma3"><h2>gemma3</h2><p>Gemma 3</p></a></li>
      <li><a href="/blog/post">not a model</a></li></ul></body></html>"""
    with pytest.raises(LayoutChanged, match=r"2 model cards.*layout changed"):
        parse_library_html(html, "https://ollama.test")


def test_library_parser_reports_a_changed_layout() -> None:
    with pytest.raises(LayoutChanged, match="layout"):
        parse_library_html("<html><body><h1>Welcome</h1></body></html>", "https://ollama.test")
    empty_search = "<html><body><form><input name='q' value='zz'></form><p>No models</p></body></html>"
    assert parse_library_html(empty_search, "https://ollama.test", search_page=True) == []


async def test_cache_single_flight_and_stale_fallback(tmp_path: Path) -> None:
    now = [1000.0]
    cache = TTLCache(tmp_path, ttl_seconds=10, clock=lambda: now[0])
    codec = TypeAdapter(list[int])
    calls = 0

    async def good() -> list[int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return [1, 2, 3]

    results = await asyncio.gather(*(cache.get("k", good, codec) for _ in range(10)))
    assert calls == 1 and all(r.value == [1, 2, 3] and not r.stale for r in results)

    async def broken() -> list[int]:
        raise ValueError("upstream said nonsense")

    assert (await cache.get("k", broken, codec)).stale is False  # still fresh: no fetch at all
    now[0] += 11
    stale = await cache.get("k", broken, codec)
    assert stale.value == [1, 2, 3] and stale.stale and stale.error == "upstream said nonsense"
    restarted = TTLCache(tmp_path, ttl_seconds=10, clock=lambda: now[0])
    again = await restarted.get("k", broken, codec)
    assert again.value == [1, 2, 3] and again.stale
    missing = await restarted.get("other", broken, codec)
    assert missing.value is None and missing.stale and missing.error


async def test_cache_waiter_cancellation_does_not_cancel_the_shared_fetch(tmp_path: Path) -> None:
    cache = TTLCache(tmp_path, ttl_seconds=10)
    codec = TypeAdapter(list[int])
    started = asyncio.Event()

    async def slow() -> list[int]:
        started.set()
        await asyncio.sleep(0.2)
        return [7]

    first = asyncio.create_task(cache.get("k", slow, codec))
    await started.wait()
    second = asyncio.create_task(cache.get("k", slow, codec))
    await asyncio.sleep(0)
    first.cancel()
    assert (await second).value == [7]


def test_lock_serialises_writers_across_threads(tmp_path: Path) -> None:
    import threading

    from venom_mcp.store import locked

    target = tmp_path / "operations.json"
    atomic_write_json(target, {"n": 0})

    def bump() -> None:
        for _ in range(20):
            with locked(target):
                data = read_json(target)
                atomic_write_json(target, {"n": data["n"] + 1})

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert read_json(target) == {"n": 80}


def test_logs_mask_secrets_and_stay_off_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from venom_mcp.logs import configure, shutdown

    settings = Settings(_env_file=None, venom_home=tmp_path, hf_token="hf_SECRETVALUE42")
    configure(settings)
    try:
        logging.getLogger("venom_mcp.test").warning("calling with token %s", "hf_SECRETVALUE42")
    finally:
        shutdown()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "calling with token ***" in captured.err and "hf_SECRETVALUE42" not in captured.err
    log_text = (tmp_path / "logs" / "venom-mcp.log").read_text(encoding="utf-8")
    assert "calling with token ***" in log_text and "hf_SECRETVALUE42" not in log_text


def test_logs_mask_keys_in_urls_even_when_not_configured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from venom_mcp.logs import configure, shutdown

    configure(Settings(_env_file=None, venom_home=tmp_path))
    try:
        logging.getLogger("venom_mcp.test").warning("GET https://x.test/v1?key=AIzaUNCONFIGURED42&alt=json failed")
    finally:
        shutdown()
    err = capsys.readouterr().err
    assert "AIzaUNCONFIGURED42" not in err and "?key=***&alt=json" in err


def test_dashboard_formats_sizes_counts_and_times() -> None:
    from venom_mcp.web.dashboard import _count, _gb, _numbers, _when

    assert (_gb(None), _gb(0.003), _gb(1.32), _gb(688.6)) == ("—", "3 MB", "1.3 GB", "688.6 GB")
    assert (_count(None), _count(11), _count(2300), _count(5_400_000)) == ("—", "11", "2.3k", "5.4M")
    assert _when("2026-11-22T01:16:05.123+00:00") == "2026-11-22 01:16:05 UTC"
    assert _when("2025-12-12T00:00:00Z") == "2025-12-12" and _when(None) == "" and _when("soon") == "soon"
    op = {"progress": 62.5, "bytes_done": 10 * 2**20, "bytes_total": 16 * 2**20}
    assert _numbers(op) == "62 % · 10.0 MiB of 16.0 MiB"
    assert _numbers({"progress": 100.0, "bytes_total": None}) == "100 %"
