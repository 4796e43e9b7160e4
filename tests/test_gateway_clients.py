"""The OpenAI-compatible gateway from other clients and runtimes: a Semantic Kernel agent (OpenAIChatCompletion on the
gateway, calling a kernel function through the model's tool calls), a stream from a real llama.cpp server on a tiny
generated model, and the context check's tokenizer round trip, made only where it can matter."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import http_served, make_settings
from tests.fakes.hub import TINY_CHAT, TINY_GGUF, FakeHub, seed_files
from tests.fakes.live import LiveServer, free_port, have_llamacpp_server
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_server import OPENAI_PREFIX, FakeOpenAI
from tests.fakes.tiny_gguf import write_tiny_llama
from tests.test_gateway import activate, client, install, served
from venom_mcp.app import App


async def test_a_prompt_is_tokenized_only_when_that_can_matter(
    runtime_settings: dict[str, Any], cloud_server: tuple[FakeOpenAI, LiveServer], cloud: FakeOpenAI
) -> None:
    """The context check counts with the server's tokenizer only where that can change something: a vLLM server's
    tokenizer also reports its context limit, so it is asked every time; a llama.cpp server's does not, so once it
    has answered, a prompt that fits the window even at one token a byte (or a window nothing bounds) is estimated,
    which saves a round trip before the first token."""
    endpoint = cloud_server[1].url + OPENAI_PREFIX
    cases = (("llamacpp", f"{TINY_GGUF}:Q8_0", [1, 1, 1]), ("vllm", TINY_CHAT, [1, 2, 3]))
    for runtime, name, counts in cases:
        cloud.reset()
        cloud.models.append(name)
        cloud.max_model_len = 8192  # the fake's /tokenize answers, in vLLM's shape or in llama-server's
        with served(runtime_settings, **{f"{runtime}_endpoint": endpoint}) as (url, _):
            await install(url, name, "hf")
            async with client(url) as oai:
                seen = []
                for words in (2, 2, 1000):
                    await oai.chat.completions.create(
                        model=name, messages=[{"role": "user", "content": "word " * words}], max_tokens=16)
                    seen.append(len(cloud.bodies("/tokenize")))
        assert seen == counts, (runtime, seen)


# ---- Semantic Kernel ----------------------------------------------------------------------------------------------


async def test_a_semantic_kernel_agent_through_the_gateway(runtime_settings: dict[str, Any],
                                                          ollama: FakeOllama) -> None:
    from semantic_kernel import Kernel
    from semantic_kernel.agents import ChatCompletionAgent
    from semantic_kernel.connectors.ai.open_ai import OpenAIChatCompletion
    from semantic_kernel.functions import kernel_function

    asked: list[str] = []

    class Weather:
        @kernel_function(description="The weather in a city")
        def get_weather(self, city: str) -> str:
            asked.append(city)
            return f"sunny in {city}"

    ollama.install("qwen2.5:0.5b")
    with served(runtime_settings) as (url, _):
        await activate(url, "qwen2.5:0.5b")
        async with client(url) as oai:
            service = OpenAIChatCompletion(ai_model_id="qwen2.5:0.5b", async_client=oai)
            kernel = Kernel()
            kernel.add_service(service)
            answer = await kernel.invoke_prompt("Say something nice")
            assert str(answer) == "echo: Say something nice"
            agent = ChatCompletionAgent(service=service, name="helper", instructions="Be brief.", plugins=[Weather()])
            response = await agent.get_response(messages="What is the weather in Paris?")
            assert asked == ["Paris"], "the model's tool call went through the gateway to the kernel function"
            assert str(response.content) == "tool result: sunny in Paris"
            pieces = [str(item.content) async for item in agent.invoke_stream(messages="Tell me a story")]
            assert len(pieces) > 1 and "".join(pieces) == "echo: Tell me a story"
    assert ollama.bodies("/api/chat")[-1]["stream"] is True, "SK's streaming is Ollama's own"


# ---- a real runtime -----------------------------------------------------------------------------------------------

LLAMA = "venom-test/llama-tiny-GGUF"
COMMAND = (f"{sys.executable} -m llama_cpp.server --model {{model_path}} --model_alias {{served_model_name}} "
           "--host {host} --port {port} --n_ctx 512 --interrupt_requests False")


@pytest.mark.skipif(not have_llamacpp_server(), reason="llama-cpp-python[server] and gguf are not installed")
async def test_a_stream_from_a_real_llamacpp_server(tmp_path: Path, home: Path, library_url: str,
                                                   ollama_url: str) -> None:
    files = seed_files()
    files[LLAMA] = {"llama-tiny.Q8_0.gguf": write_tiny_llama(tmp_path / "l.gguf").read_bytes(), "README.md": b"tiny"}
    name = f"{LLAMA}:Q8_0"
    with LiveServer(FakeHub(files=files).app) as hub:
        app = App(make_settings(home, hub.url, library_url, ollama_host=ollama_url, runtime_profile="full",
                                llamacpp_endpoint=f"http://127.0.0.1:{free_port()}/v1", llamacpp_command=COMMAND,
                                start_timeout_seconds=60))
        try:
            with http_served(app) as server:
                await install(server.url, name, "hf")
                await activate(server.url, name, "llamacpp")
                async with client(server.url) as oai:
                    settings: dict[str, Any] = {"model": name, "max_tokens": 8, "temperature": 0, "seed": 1,
                                                "messages": [{"role": "user", "content": "Hello"}]}
                    whole = await oai.chat.completions.create(**settings)
                    async with oai.chat.completions.with_streaming_response.create(
                            **settings, stream=True, stream_options={"include_usage": True}) as raw:
                        assert raw.headers["x-venom-llm-provider"] == "llamacpp"
                        chunks = [c async for c in await raw.parse()]
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            assert text == whole.choices[0].message.content, "greedy decoding: the stream joins to the same text"
            finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
            assert finish == [whole.choices[0].finish_reason]
            usage = chunks[-1].usage
            assert usage is not None and 0 < usage.completion_tokens <= 8 and usage.prompt_tokens > 0
        finally:
            await asyncio.to_thread(app.runtimes.health.supervisor.stop, "llamacpp")  # the process it started
