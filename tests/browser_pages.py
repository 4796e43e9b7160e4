"""What the dashboard's browser tests share: Debian's Chromium under Playwright (never a downloaded browser), a
served App with its own fake Hub, REST helpers that drive the server as another client would, and screenshots
under the test's temporary folder ($VENOM_TEST_ARTIFACTS instead, when set)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.conftest import STUB, build, http_served
from venom_mcp.app import App

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = os.environ.get("VENOM_CHROMIUM", "/usr/bin/chromium")
# As root, in a closed network: no sandbox, and none of Chromium's own background traffic.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
TIMEOUT_MS = 30_000
LONG_MS = 90_000  # a runtime start, an install, a watcher round: generous on a busy 2-core machine
REST_TIMEOUT = 120


def require_chromium() -> None:
    """At the top of a browser test module: skip it without Chromium, or fail it where the browser is required
    (VENOM_REQUIRE_BROWSER=1, as scripts/test.sh sets)."""
    if not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium; scripts/test.sh does)"
        if os.environ.get("VENOM_REQUIRE_BROWSER") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason, allow_module_level=True)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium under Playwright, for one test module (the `browser` fixture of conftest.py)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ["VENOM_TEST_ARTIFACTS"]) if os.environ.get("VENOM_TEST_ARTIFACTS") else tmp_path / "shots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def expected_failure(message: Any) -> bool:
    """Console errors a page is expected to log: the refused removal's 409, and fit estimates the fake Hub cannot
    give (no files for most catalog rows: 404/503 from /api/v1/models/fit, shown as an 'unknown' badge)."""
    url = (message.location or {}).get("url", "")
    return "status of 409" in message.text or url.endswith("/api/v1/models/fit")


@contextmanager
def served(runtime_settings: dict[str, Any], hub_url: str, browser: Browser, **overrides: Any
           ) -> Iterator[tuple[str, App]]:
    """`serve --transport http` with the test's settings. At the end the browser's pages are closed first (their
    event streams would hold the server's shutdown), then the llama.cpp stand-in is stopped."""
    app = build({**runtime_settings, "hub_url": hub_url}, **overrides)
    with http_served(app) as server:
        try:
            yield server.url, app
        finally:
            for context in browser.contexts:
                context.close()
            # No runtime process may outlive the test (Playwright's loop owns this thread: use REST).
            httpx.post(f"{server.url}/api/v1/system/llm-servers/llamacpp/stop", json={}, timeout=REST_TIMEOUT)


def rest(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.request(method, f"{url}/api/v1{path}", json=body, timeout=REST_TIMEOUT)
    data: dict[str, Any] = response.json()
    assert response.status_code == 200 and data["success"], data
    return data


def install(url: str, name: str, provider: str) -> dict[str, Any]:
    """Install through REST and follow the operation's event stream to its end."""
    started = rest(url, "POST", "/models/registry/install", {"name": name, "provider": provider})
    final: dict[str, Any] = {}
    with httpx.stream("GET", f"{url}/api/v1/models/operations/{started['operation_id']}/events",
                      timeout=REST_TIMEOUT) as events:
        event = ""
        for line in events.iter_lines():
            if line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:") and event == "end":
                final = json.loads(line.removeprefix("data:"))
                break
    assert final.get("status") == "completed", final
    return final


def server_status(url: str, name: str) -> dict[str, Any]:
    servers = rest(url, "GET", "/system/llm-servers/active")["servers"]
    return next(s for s in servers if s["name"] == name)


@contextmanager
def stray_server(endpoint: str, alias: str) -> Iterator[subprocess.Popen[bytes]]:
    """An OpenAI-compatible server on `endpoint`'s port that venom-mcp did not start, serving `alias`."""
    port = endpoint.rsplit(":", 1)[1].split("/", 1)[0]
    proc = subprocess.Popen([sys.executable, str(STUB), "--host", "127.0.0.1", "--port", port, "--model", alias],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + REST_TIMEOUT
        while True:
            try:
                if httpx.get(f"{endpoint}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the stray server did not start")
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)

