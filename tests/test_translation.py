"""translate and model_news(lang=...) over MCP against the fake Ollama (which answers "echo: <text>") and the
real llama.cpp server: whole long texts in order, code kept, cache, bad languages, failures, news."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import ClientSession

from tests.conftest import make_settings, mcp_session
from tests.fakes.ollama import FakeOllama
from tests.test_catalog_tools import call, error_text
from venom_mcp.app import App

WORDS = [
    "model",
    "token",
    "layer",
    "weight",
    "cache",
    "runtime",
    "server",
    "quantization",
    "context",
    "window",
    "prompt",
    "answer",
]


def long_text(paragraphs: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    out = []
    for n in range(paragraphs):
        sentences = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))).capitalize() + "."
            for _ in range(rng.randint(3, 8))
        ]
        out.append(f"Paragraph {n}: " + " ".join(sentences))
    return "\n\n".join(out) + "\n"


@pytest.fixture
async def translator(home: Path, hub_url: str, library_url: str, ollama_url: str) -> AsyncIterator[ClientSession]:
    app = App(make_settings(home, hub_url, library_url, ollama_host=ollama_url))
    async with mcp_session(app) as client:
        await call(client, "install_model", name="llama3.2:1b", provider="ollama", wait=True)
        await call(client, "activate_model", name="llama3.2:1b", runtime="ollama")
        yield client


async def test_short_translation_and_cache(translator: ClientSession, ollama: FakeOllama) -> None:
    first = await call(translator, "translate", text="Hello world", target_lang="pl", source_lang="en")
    assert first["translated_text"] == "echo: Hello world" and first["cached"] is False and first["chunks"] == 1
    assert first["llm_provider"] == "ollama" and first["llm_model"] == "llama3.2:1b"
    sent = ollama.bodies("/api/chat")[-1]["messages"]
    assert "Polish" in sent[0]["content"] and sent[-1]["content"] == "Hello world"
    calls = len(ollama.bodies("/api/chat"))
    again = await call(translator, "translate", text="Hello world", target_lang="pl", source_lang="en")
    assert again["cached"] is True and again["translated_text"] == first["translated_text"]
    assert len(ollama.bodies("/api/chat")) == calls, "a cache hit sends nothing"
    fresh = await call(translator, "translate", text="Hello world", target_lang="pl", source_lang="en", use_cache=False)
    assert fresh["cached"] is False and len(ollama.bodies("/api/chat")) == calls + 1
    assert (await call(translator, "translate", text="Hello world", target_lang="de"))["cached"] is False


async def test_long_text_is_translated_whole_and_in_order(translator: ClientSession, ollama: FakeOllama) -> None:
    text = long_text(120)  # far beyond one chunk
    before = len(ollama.bodies("/api/chat"))  # the activation's 1-token confirmation
    result = await call(translator, "translate", text=text, target_lang="de", use_cache=False)
    assert result["chunks"] >= 3
    assert len(ollama.bodies("/api/chat")) - before == result["chunks"]
    out = result["translated_text"]
    assert out.count("echo: ") == result["chunks"]
    assert out.replace("echo: ", "") == text, "every chunk came back, in order, with the layout kept"


async def test_code_urls_and_structure_pass_through(translator: ClientSession, ollama: FakeOllama) -> None:
    text = (
        "# Install\n\nRun the command below and open https://huggingface.co/models today.\n\n"
        "```bash\npip install venom-mcp  # never translated\n```\n\n- first point\n- second point\n"
    )
    result = await call(translator, "translate", text=text, target_lang="pl")
    out = result["translated_text"]
    assert "```bash\npip install venom-mcp  # never translated\n```" in out
    assert "https://huggingface.co/models" in out and out.startswith("# ")
    sent = "\n".join(m["content"] for body in ollama.bodies("/api/chat") for m in body["messages"])
    assert "pip install venom-mcp" not in sent and "https://huggingface.co/models" not in sent


async def test_bad_arguments(translator: ClientSession) -> None:
    text = await error_text(translator, "translate", text="Hello", target_lang="fr")
    assert "pl" in text and "en" in text and "de" in text
    assert "empty" in await error_text(translator, "translate", text="   ", target_lang="pl")
    assert "source_lang" in await error_text(translator, "translate", text="Hi", target_lang="pl", source_lang="xx")


async def test_a_failed_chunk_fails_the_call(translator: ClientSession, ollama: FakeOllama) -> None:
    ollama.fault = "error"
    text = await error_text(translator, "translate", text=long_text(40, seed=3), target_lang="pl")
    assert "half-done" in text and "ollama" in text


async def test_news_in_polish_and_failure_keeps_originals(translator: ClientSession, ollama: FakeOllama) -> None:
    plain = await call(translator, "model_news", kind="blog", limit=3)
    polish = await call(translator, "model_news", kind="blog", limit=3, lang="pl")
    assert [i["title"] for i in polish["items"]] == ["echo: " + i["title"] for i in plain["items"]]
    assert polish["error"] is None
    assert {(i["llm_provider"], i["llm_model"]) for i in polish["items"]} == {("ollama", "llama3.2:1b")}
    assert all(i["llm_provider"] is None for i in plain["items"])
    ollama.fault = "error"
    kept = await call(translator, "model_news", kind="papers", limit=2, lang="de")
    assert kept["count"] == 2 and not kept["items"][0]["title"].startswith("echo: ")
    assert kept["items"][0]["llm_provider"] is None, "not translated: nobody is named"
    assert kept["error"] and "translation to de failed" in kept["error"]
    assert "pl" in await error_text(translator, "model_news", lang="fr")
