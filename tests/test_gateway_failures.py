"""The OpenAI-compatible gateway when runtimes fail or clients leave: fallback before the first piece of a stream (the
headers name the runtime that answers), an error event and no fallback after it, and a client that leaves, which
stops the runtime's generation and releases its gate."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import openai
import pytest

from tests.fakes.ollama import STREAM_ERROR, FakeOllama
from tests.fakes.openai_server import FakeOpenAI
from tests.test_gateway import HI, activate, client, history, released, served


async def test_fallback_happens_before_the_first_piece_only(runtime_settings: dict[str, Any], ollama: FakeOllama,
                                                            cloud: FakeOpenAI) -> None:
    ollama.install("llama3.2:1b")
    with served(runtime_settings, fallback_order="openai") as (url, _):
        await activate(url, "llama3.2:1b")
        ollama.fault = "error"  # Ollama answers 500 before its first piece: the next runtime of the plan answers
        async with client(url) as oai:
            async with oai.chat.completions.with_streaming_response.create(
                    model="default", messages=HI, stream=True) as raw:
                assert raw.headers["x-venom-llm-provider"] == "openai"
                assert raw.headers["x-venom-llm-model"] == "gpt-4o-mini"
                assert raw.headers["x-venom-fallback-from"] == "ollama"
                text = "".join([c.choices[0].delta.content or "" async for c in await raw.parse() if c.choices])
            assert text == "echo: hi there"
            whole = await oai.chat.completions.with_raw_response.create(model="default", messages=HI)
            assert whole.headers["x-venom-fallback-from"] == "ollama"
            # A runtime that fails after its first piece ends the stream with an error: no fallback any more.
            ollama.fault = "stream_error"
            asked = len(cloud.bodies())
            received = []
            with pytest.raises(openai.APIError, match="failed after the answer began") as broken:
                async for chunk in await oai.chat.completions.create(model="default", messages=HI,
                                                                     stream=True):
                    received.append(chunk.choices[0].delta.content)
            assert STREAM_ERROR in broken.value.message and received == ["echo:"]  # the role came with it
            assert len(cloud.bodies()) == asked, "nothing was sent to the fallback"
        record = (await history(url))[0]
        assert record["status"] == "error" and record["llm_provider"] == "ollama"


async def test_a_broken_cloud_stream_is_recorded(runtime_settings: dict[str, Any], cloud: FakeOpenAI) -> None:
    cloud.fault = "stream_cut"
    with served(runtime_settings) as (url, _):
        async with client(url) as oai:
            received = []
            with pytest.raises(openai.APIError, match="failed after the answer began"):
                async for chunk in await oai.chat.completions.create(model="gpt-4o-mini", messages=HI,
                                                                     stream=True):
                    received.append(chunk.choices[0].delta.content)
            assert received == ["echo:"]  # the role came with the first piece
        record = (await history(url))[0]
        assert record["status"] == "error" and record["llm_provider"] == "openai"


async def test_a_client_that_leaves_stops_the_runtime(runtime_settings: dict[str, Any], cloud: FakeOpenAI) -> None:
    cloud.token_delay = 0.05
    cloud.enqueue_text(" ".join(["word"] * 200))
    with served(runtime_settings) as (url, app):
        async with client(url) as oai:
            stream = await oai.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True)
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    break
            await stream.close()
        await released(app, "openai")
        deadline = time.monotonic() + 10
        while cloud.abandoned_streams == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert cloud.abandoned_streams == 1, "the upstream request was closed: the runtime stopped writing"
        record = (await history(url))[0]
        assert record["status"] == "ok" and record["finished_at"] is not None
        assert 0 < record["completion_tokens"] < 200, "counted as far as it went"
