"""Shared fixtures: the fakes on loopback, an App wired to them, and an in-process MCP client."""

from __future__ import annotations

import inspect
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession
from mcp.shared.memory import create_connected_server_and_client_session

from tests.fakes.hub import FakeHub
from tests.fakes.live import LiveServer, free_port
from tests.fakes.ollama import FakeOllama
from tests.fakes.ollama_library import FakeOllamaLibrary
from tests.fakes.openai_server import GEMINI_PREFIX, OPENAI_PREFIX, FakeOpenAI
from venom_mcp.app import App
from venom_mcp.config import Settings
from venom_mcp.server import build_server, http_app


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # anyio's plugin runs async fixtures and the test in one task, as MCP's task groups require.
    for item in items:
        if inspect.iscoroutinefunction(getattr(item, "function", None)):
            item.add_marker(pytest.mark.anyio)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def hub_server() -> Iterator[tuple[FakeHub, LiveServer]]:
    hub = FakeHub()
    with LiveServer(hub.app) as server:
        yield hub, server


@pytest.fixture(scope="session")
def library_server() -> Iterator[tuple[FakeOllamaLibrary, LiveServer]]:
    library = FakeOllamaLibrary()
    with LiveServer(library.app) as server:
        yield library, server


@pytest.fixture(scope="session")
def fake_ollama_server() -> Iterator[tuple[FakeOllama, LiveServer]]:
    fake = FakeOllama()
    with LiveServer(fake.app) as server:
        yield fake, server


@pytest.fixture
def ollama(fake_ollama_server: tuple[FakeOllama, LiveServer]) -> FakeOllama:
    fake, _ = fake_ollama_server
    fake.reset()
    return fake


@pytest.fixture
def ollama_url(fake_ollama_server: tuple[FakeOllama, LiveServer], ollama: FakeOllama) -> str:
    return fake_ollama_server[1].url


@pytest.fixture
def hub(hub_server: tuple[FakeHub, LiveServer]) -> FakeHub:
    fake, _ = hub_server
    fake.reset()
    fake.slow_seconds = 5
    return fake


@pytest.fixture
def library(library_server: tuple[FakeOllamaLibrary, LiveServer]) -> FakeOllamaLibrary:
    fake, _ = library_server
    fake.reset()
    return fake


@pytest.fixture
def hub_url(hub_server: tuple[FakeHub, LiveServer], hub: FakeHub) -> str:
    return hub_server[1].url


@pytest.fixture
def library_url(library_server: tuple[FakeOllamaLibrary, LiveServer], library: FakeOllamaLibrary) -> str:
    return library_server[1].url


@pytest.fixture
def closed_url() -> str:
    """A loopback URL where nothing listens: connections are refused."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def real_server() -> Iterator[tuple[FakeHub, LiveServer]]:
    """A fake Hub that serves the real captures of tests/fixtures/real/hub (module-wide; tests reset it)."""
    hub = FakeHub.from_real_captures()
    with LiveServer(hub.app) as server:
        yield hub, server


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "venom-home"


def make_settings(home: Path, hub_url: str, library_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "venom_home": home,
        "hf_endpoint": hub_url,
        "hf_token": None,
        "ollama_library_url": library_url,
        # Nothing listens there: a test reads the registry only where it passes the fake's URL (tests/test_fit.py).
        "ollama_registry_url": f"http://127.0.0.1:{free_port()}",
        "http_timeout_seconds": 2,
        "models_cache_dir_override": home / "models",
        "runtime_profile": "light",
        "ollama_profile": "balanced-12-24gb",
        "cache_ttl_seconds": 1800,
        "http_token": None,
        "openai_api_key": None,
        "google_api_key": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def settings(home: Path, hub_url: str, library_url: str, ollama_url: str) -> Settings:
    return make_settings(home, hub_url, library_url, ollama_host=ollama_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    application = App(settings)
    yield application
    await application.aclose()


@asynccontextmanager
async def mcp_session(app: App, **options: Any) -> AsyncIterator[ClientSession]:
    """An in-memory MCP session on the App's server. The App is closed at the end, as the end of the process's
    transport would (the server's lifespan runs once per session and leaves the App open)."""
    try:
        async with create_connected_server_and_client_session(build_server(app), **options) as client:
            yield client
    finally:
        await app.aclose()


@contextmanager
def http_served(app: App) -> Iterator[LiveServer]:
    """`serve --transport http` for the App on a free loopback port; stopping it runs the Starlette lifespan,
    which closes the App."""
    server = LiveServer(http_app(app, "127.0.0.1", 0), lifespan="on").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def client(app: App) -> AsyncIterator[ClientSession]:
    async with create_connected_server_and_client_session(build_server(app)) as session:
        yield session


# ---- runtimes: a fake OpenAI-compatible cloud and settings for runtime tests ------------------------

OPENAI_KEY = "sk-test-OPENAIKEY1234567890"
GOOGLE_KEY = "AIza-test-GOOGLEKEY1234567890"
STUB = Path(__file__).parent / "fakes" / "openai_stub_server.py"


@pytest.fixture(scope="module")
def cloud_server() -> Iterator[tuple[FakeOpenAI, LiveServer]]:
    fake = FakeOpenAI()
    with LiveServer(fake.app) as server:
        yield fake, server


@pytest.fixture
def cloud(cloud_server: tuple[FakeOpenAI, LiveServer]) -> FakeOpenAI:
    cloud_server[0].reset()
    return cloud_server[0]



@pytest.fixture
def runtime_settings(home: Path, hub_url: str, library_url: str, ollama_url: str,
                     cloud_server: tuple[FakeOpenAI, LiveServer], cloud: FakeOpenAI) -> dict[str, Any]:
    url = cloud_server[1].url
    return {
        "home": home, "hub_url": hub_url, "library_url": library_url, "ollama_host": ollama_url,
        "openai_base_url": url + OPENAI_PREFIX, "google_base_url": url + GEMINI_PREFIX,
        "openai_api_key": OPENAI_KEY, "google_api_key": GOOGLE_KEY, "runtime_profile": "full",
        "llamacpp_endpoint": f"http://127.0.0.1:{free_port()}/v1",
        "llamacpp_command": f"{sys.executable} {STUB} --host {{host}} --port {{port}} --model {{served_model_name}} "
                            "--model-path {model_path}",
        "start_timeout_seconds": 20,
        # The full profile lists the ray runtime: a port where no Ray runs, not a user's own cluster on 8265.
        "ray_address": f"http://127.0.0.1:{free_port()}", "ray_serve_endpoint": f"http://127.0.0.1:{free_port()}/v1",
    }


def build(values: dict[str, Any], **overrides: Any) -> App:
    values = {**values, **overrides}
    home, hub_url, library_url = values.pop("home"), values.pop("hub_url"), values.pop("library_url")
    return App(make_settings(home, hub_url, library_url, **values))




@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for a browser test module (tests/browser_pages.py); imported only by the tests that use it."""
    from tests.browser_pages import chromium

    with chromium() as launched:
        yield launched
