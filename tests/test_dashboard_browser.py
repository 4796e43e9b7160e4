"""The /models dashboard in real headless Chromium (Debian's package, driven by Playwright; no browser download):
trending from the fake Hub, an install whose progress bar climbs to 100 %, activate, remove with confirmation, the
offline banner when the Hub goes away, and the login field when a token is set. Screenshots land in
$VENOM_TEST_ARTIFACTS (default build/test-artifacts)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import build, http_served
from tests.fakes.hub import TINY_GGUF, FakeHub
from tests.fakes.live import LiveServer
from tests.fakes.ollama import FakeOllama

CHROMIUM = os.environ.get("VENOM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("VENOM_TEST_ARTIFACTS", Path(__file__).parents[1] / "build" / "test-artifacts"))
# As root, in a closed network: no sandbox, and none of Chromium's own background traffic.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
TIMEOUT_MS = 30_000
GGUF = f"{TINY_GGUF}:Q4_K_M"  # one quantization of the repo is what gets installed

if not Path(CHROMIUM).exists():
    reason = f"no Chromium at {CHROMIUM} (apt-get install chromium; scripts/test.sh does)"
    if os.environ.get("VENOM_REQUIRE_BROWSER") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def own_hub() -> Iterator[tuple[FakeHub, LiveServer]]:
    """A Hub of this test's own, so that stopping it leaves the suite's shared one alone."""
    hub = FakeHub()
    server = LiveServer(hub.app).start()
    try:
        yield hub, server
    finally:
        if server.running:
            server.stop()


@pytest.fixture
def dashboard(runtime_settings: dict[str, Any], own_hub: tuple[FakeHub, LiveServer]) -> Iterator[str]:
    # TTL 0: every refresh asks the Hub, so stopping it shows at once as the offline state.
    app = build({**runtime_settings, "hub_url": own_hub[1].url}, cache_ttl_seconds=0)
    with http_served(app) as server:
        try:
            yield server.url
        finally:
            # No runtime process may outlive the test: stop it through the server's own MCP endpoint (from another
            # thread, since Playwright's loop owns this one).
            with ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, _stop_runtime(server.url)).result()


async def _stop_runtime(url: str) -> None:
    async with streamable_http_client(f"{url}/mcp") as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool("control_runtime", {"server": "llamacpp", "action": "stop"})
        assert not result.isError, result.content


def _page(browser: Browser) -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The refused removal's 409 is expected; any other failed load or script error is a defect.
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and "status of 409" not in message.text else None)
    page.errors = errors  # type: ignore[attr-defined]
    return page


def _shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


# Records every value a progress bar of the Operations section shows, as the page renders it.
WATCH_PROGRESS = """() => {
  window.progressSeen = [];
  const record = () => document.querySelectorAll('#operations-list progress').forEach(
      (bar) => window.progressSeen.push([bar.closest('li').dataset.operationId, Number(bar.value)]));
  new MutationObserver(record).observe(document.getElementById('operations-list'),
      {subtree: true, childList: true, attributes: true, attributeFilter: ['value']});
}"""


def test_dashboard_end_to_end(browser: Browser, dashboard: str, own_hub: tuple[FakeHub, LiveServer],
                              ollama: FakeOllama) -> None:
    hub_server = own_hub[1]
    page = _page(browser)
    page.goto(f"{dashboard}/models")
    expect(page).to_have_title("Models · venom-mcp")

    # Trending: the rows are the fake Hub's trending models, in its order.
    trending = httpx.get(f"{dashboard}/api/v1/models/trending", params={"provider": "huggingface", "limit": 8}).json()
    hf = page.locator("#trending-huggingface")
    expect(hf.locator("tbody tr")).to_have_count(trending["count"])
    assert hf.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.model)") == [
        m["model_name"] for m in trending["models"]]
    expect(page.locator("#trending-ollama tbody tr").first).to_be_visible()
    expect(page.locator("#runtime")).to_contain_text("none")
    expect(page.locator("#offline-banner")).to_be_hidden()

    # Install from the catalog search. huggingface_hub reports bytes per 10 MiB it writes, so this 3 MiB file
    # goes from 0 to 100 at once; the Ollama install below shows the bar climbing.
    page.get_by_label("Catalog").select_option("huggingface")
    page.get_by_label("Search", exact=True).fill("tiny-GGUF")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("button", name=f"Install {TINY_GGUF}").click()
    expect(page.locator("#notice")).to_contain_text(f"installation of {TINY_GGUF}")
    row = page.locator("#operations-list li").filter(has_text=GGUF)
    expect(row.locator('[data-field="status"]')).to_have_text("completed", timeout=60_000)
    expect(row.locator("progress")).to_have_js_property("value", 100)
    expect(row).to_contain_text("3.0 MiB of 3.0 MiB")
    expect(page.locator("#notice")).to_contain_text(f"install of {GGUF} completed")

    # Activate: the header shows the runtime and its health.
    installed = page.locator("#installed-list")
    expect(installed.locator("tbody tr")).to_have_count(1)
    page.get_by_role("button", name=f"Activate {GGUF} on llamacpp").click()
    expect(page.locator('#runtime [data-field="active-provider"]')).to_have_text("llamacpp", timeout=60_000)
    expect(page.locator('#runtime [data-field="active-model"]')).to_have_text(GGUF)
    expect(page.locator('#runtime [data-field="active-status"]')).to_have_text("online")
    expect(installed.locator("tr.active")).to_contain_text("active")

    # An Ollama model from the Ollama trending list, its bar following the bytes Ollama reports.
    ollama.pull_delay = 0.2  # about 4 s in all: several progress events
    page.evaluate(WATCH_PROGRESS)
    page.get_by_role("button", name="Install llama3.2:latest").click()
    ollama_row = page.locator("#operations-list li").filter(has_text="install llama3.2:latest")
    expect(ollama_row.locator('[data-field="status"]')).to_have_text("completed", timeout=60_000)
    expect(ollama_row.locator("progress")).to_have_js_property("value", 100)
    pull = ollama_row.get_attribute("data-operation-id")
    seen = [value for op, value in page.evaluate("window.progressSeen") if op == pull]
    assert any(0 < value < 100 for value in seen), f"no partial progress was shown: {seen}"
    assert seen == sorted(seen) and seen[-1] == 100, f"the bar only climbs, to 100: {seen}"

    # Remove it (after a confirmation); the active model is refused with the reason.
    expect(installed.locator("tbody tr")).to_have_count(2)
    _shot(page, "dashboard.png")

    dialogs: list[str] = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Remove llama3.2:latest").click()
    expect(installed.locator("tbody tr")).to_have_count(2)
    assert dialogs and "llama3.2:latest" in dialogs[0], "remove asks first; dismissed, nothing happens"

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove llama3.2:latest").click()
    expect(installed.locator("tbody tr")).to_have_count(1)
    expect(page.locator("#notice")).to_contain_text("llama3.2:latest removed")
    assert "llama3.2:latest" not in ollama.installed

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Remove {GGUF}").click()
    expect(page.locator("#notice")).to_contain_text("activate another model first")
    expect(page.locator("#notice")).to_have_class("notice error")

    # The Hub goes away: the section keeps its data, marked with its time, and the banner says so.
    hub_server.stop()
    hf.get_by_role("button", name="Refresh Hugging Face Hub trending").click()
    banner = page.locator("#offline-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Offline: Hugging Face Hub trending could not be reached")
    expect(banner).to_contain_text("showing cached data from")
    expect(hf.locator(".stale")).to_contain_text("offline: cached data from")
    expect(hf.locator("tbody tr")).to_have_count(trending["count"])
    _shot(page, "dashboard-offline.png")
    hub_server.start()  # back on the same port
    hf.get_by_role("button", name="Refresh Hugging Face Hub trending").click()
    expect(banner).to_be_hidden()
    assert page.errors == [], page.errors  # type: ignore[attr-defined]


def test_dashboard_login_keeps_the_token_in_the_session(browser: Browser, runtime_settings: dict[str, Any]) -> None:
    token = "browser-token-0123456789abcdef"
    with http_served(build(runtime_settings, http_token=token)) as server:
        page = _page(browser)
        page.goto(f"{server.url}/models")
        login = page.locator("#login")
        expect(login).to_be_visible()
        expect(page.locator("#content")).to_be_hidden()
        page.get_by_label("Access token").fill("wrong-token")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#login-error")).to_have_text("That token was refused.")
        page.get_by_label("Access token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        expect(login).to_be_hidden()
        expect(page.locator("#trending-ollama tbody tr").first).to_be_visible()
        assert page.evaluate("sessionStorage.getItem('venom-mcp-token')") == token
        assert token not in page.url
        assert page.evaluate("localStorage.length") == 0, "nothing outlives the tab"
