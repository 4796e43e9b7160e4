"""One translation of failed exchanges with outside systems into our errors (adapters/upstream.py), as the adapters
meet them: no answer in time, no connection, an answer that broke off, an error status with the server's own text,
and huggingface_hub's errors. HTTP failures are made with httpx.MockTransport (the failure itself is the point); the
Hub's come from the fake Hub over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from mcp import ClientSession

from tests.conftest import make_settings, mcp_session
from tests.fakes.hub import GATED_MODEL
from venom_mcp.adapters.news import NewsAdapter
from venom_mcp.adapters.ollama import OllamaAdapter
from venom_mcp.adapters.ollama_library.client import OllamaLibraryAdapter
from venom_mcp.adapters.openai_compat import served_models
from venom_mcp.adapters.upstream import Upstream
from venom_mcp.app import App
from venom_mcp.errors import NotFound, Unreachable, UpstreamError, UpstreamTimeout

HOST = "http://127.0.0.1:11434"
Handler = Callable[[httpx.Request], httpx.Response]


def mock(handler: Handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def failing(exc: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("refused by the test", request=request)

    return handler


class BrokenStream(httpx.AsyncByteStream):
    """A streamed answer whose connection drops after its first line."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"status": "pulling manifest"}\n'
        raise httpx.ReadError("connection reset by peer")


async def test_no_connection_and_no_answer_in_time_name_the_fix() -> None:
    async with mock(failing(httpx.ConnectError)) as client:
        with pytest.raises(Unreachable) as refused:
            await OllamaAdapter(HOST, client).version()
    assert str(refused.value) == (f"Ollama at {HOST} is unreachable (ConnectError: refused by the test); start it "
                                  "with `ollama serve`, or set OLLAMA_HOST to where it runs")
    async with mock(failing(httpx.ReadTimeout)) as client:
        with pytest.raises(UpstreamTimeout, match=r"^Ollama at \S+ did not answer in time \(OLLAMA_HOST\)$"):
            await OllamaAdapter(HOST, client).tags()
        with pytest.raises(UpstreamTimeout, match=r"did not answer in time \(VENOM_OLLAMA_LIBRARY_URL\)$"):
            await OllamaLibraryAdapter("https://ollama.com", client).popular()
    async with mock(failing(httpx.ConnectError)) as client:
        with pytest.raises(Unreachable, match=r"^the Ollama library at https://ollama.com is unreachable .*"
                                              r"check the network or VENOM_OLLAMA_LIBRARY_URL$"):
            await OllamaLibraryAdapter("https://ollama.com", client).popular()
        with pytest.raises(Unreachable, match=r"^the OpenAI-compatible server at http://127\.0\.0\.1:8001/v1 is unr"):
            await served_models(client, "http://127.0.0.1:8001/v1")


async def test_error_statuses_carry_the_servers_own_text_and_never_a_page() -> None:
    def ollama(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/show":
            return httpx.Response(404, json={"error": "model 'ghost' not found"})
        return httpx.Response(500, json={"error": "out of memory"})

    async with mock(ollama) as client:
        with pytest.raises(NotFound, match=r"^model 'ghost' not found$"):
            await OllamaAdapter(HOST, client).show("ghost")
        with pytest.raises(UpstreamError, match=rf"^Ollama at {HOST} answered HTTP 500: out of memory$"):
            await OllamaAdapter(HOST, client).ps()

    def library(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text="<html><body>Service Unavailable</body></html>",
                              headers={"content-type": "text/html"})

    async with mock(library) as client:
        with pytest.raises(UpstreamError) as failed:
            await OllamaLibraryAdapter("https://ollama.com", client).popular()
    assert str(failed.value) == "the Ollama library at https://ollama.com answered HTTP 503 for /library"

    def openai(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"message": "invalid api key", "type": "auth"}})

    async with mock(openai) as client:
        with pytest.raises(UpstreamError, match=r"answered HTTP 401 for GET /models: invalid api key$"):
            await served_models(client, "http://127.0.0.1:8001/v1")


async def test_a_stream_that_breaks_off_says_so() -> None:
    async with mock(lambda request: httpx.Response(200, stream=BrokenStream())) as client:
        events = []
        with pytest.raises(UpstreamError, match=r"^the pull of llama3 broke off: ReadError: connection reset by peer$"):
            async for event in OllamaAdapter(HOST, client).pull("llama3"):
                events.append(event)
    assert events == [{"status": "pulling manifest"}]
    # A stream that never got going is a connection failure, not a broken answer.
    async with mock(failing(httpx.ConnectError)) as client:
        with pytest.raises(Unreachable, match="OLLAMA_HOST"):
            async for _ in OllamaAdapter(HOST, client).pull("llama3"):
                pass


async def test_the_news_feed_says_it_the_same_way(app: App) -> None:
    async with mock(failing(httpx.ConnectTimeout)) as client:
        with pytest.raises(UpstreamTimeout) as late:
            await NewsAdapter(app.hub, client, 5).blog()
    feed = f"{app.hub.endpoint}/blog/feed.xml"
    assert str(late.value) == f"the Hub blog feed at {feed} did not answer in time (HF_ENDPOINT)"
    unnamed = Upstream("a server").unreachable(httpx.ConnectError(""))  # no setting to name: says what to check
    assert str(unnamed) == "a server is unreachable (ConnectError); check that it runs"


async def test_huggingface_hub_errors_read_the_same_from_install_and_fit(home: Path, hub_url: str, library_url: str,
                                                                        ollama_url: str) -> None:
    app = App(make_settings(home, hub_url, library_url, ollama_host=ollama_url, runtime_profile="full"))
    async with mcp_session(app) as client:
        await _hub_errors(client)


async def _hub_errors(client: ClientSession) -> None:
    async def error_text(tool: str, **arguments: object) -> str:
        result = await client.call_tool(tool, arguments)
        assert result.isError, result.content
        return " ".join(getattr(block, "text", "") for block in result.content)

    gated = [await error_text("install_model", name=GATED_MODEL, provider="huggingface"),
             await error_text("check_fit", name=GATED_MODEL, provider="huggingface")]
    for text in gated:
        assert f"{GATED_MODEL} is gated: accept its terms on the Hub and set HF_TOKEN" in text, text
    for tool in ("install_model", "check_fit"):
        text = await error_text(tool, name="nobody/no-such-model", provider="huggingface")
        assert "no model 'nobody/no-such-model' on the Hub at" in text and "(or it is private)" in text, text
