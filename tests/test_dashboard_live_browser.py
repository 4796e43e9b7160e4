"""The dashboard's live parts in real headless Chromium: the runtime panels (restarts through the buttons and from
another client, seen as they happen; buttons held while an install runs; the alias warning and its repair), the
alerts banner raised and cleared by real crossings (a failed model call, the RAM threshold), the request history
with its fallbacks and errors, and the panels' generic drawing of fields a cluster runtime reports. Nothing here
writes the page's DOM: the server's event streams do. Screenshots land in the test's temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser_pages import (
    LONG_MS,
    TIMEOUT_MS,
    artifacts,
    expected_failure,
    install,
    require_chromium,
    rest,
    served,
    server_status,
    stray_server,
)
from tests.fakes.hub import TINY_GGUF
from tests.fakes.ollama import FakeOllama
from venom_mcp.records import ClusterNode, ClusterReplica
from venom_mcp.services.fit.estimate import RAM_RESERVE
from venom_mcp.services.fit.memory import Memory

GGUF = f"{TINY_GGUF}:Q4_K_M"

require_chromium()

from playwright.sync_api import Browser, Locator, Page, expect  # noqa: E402

expect.set_options(timeout=TIMEOUT_MS)


def open_page(browser: Browser, url: str) -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and not expected_failure(message) else None)
    page.errors = errors  # type: ignore[attr-defined]
    page.goto(f"{url}/models")
    return page


def panel(page: Page, name: str) -> Locator:
    return page.locator(f'#runtime-panels [role="tabpanel"][data-runtime="{name}"]')


def fact(page: Page, name: str, key: str) -> Locator:
    return panel(page, name).locator(f'dd[data-field="{key}"]')


def shot(page: Page, folder: Path, name: str, part: str | None = None) -> None:
    """The top of the page (header, banners, gauges, runtime panels), or one part of it."""
    if part is None:
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(folder / name))
    else:
        page.locator(part).screenshot(path=str(folder / name))


# Records what a runtime panel shows as it changes: its busy line, status and pid.
WATCH_PANEL = """(name) => {
  window.panelSeen = [];
  const panel = document.querySelector(`#runtime-panels [data-runtime="${name}"]`);
  const record = () => window.panelSeen.push({
    busy: panel.querySelector('[data-field="busy"]').textContent,
    status: panel.dataset.status,
    pid: panel.querySelector('dd[data-field="pid"]').textContent});
  new MutationObserver(record).observe(panel, {subtree: true, childList: true, characterData: true,
                                                attributes: true});
}"""


def test_runtime_panels_follow_the_runtimes_live(browser: Browser, runtime_settings: dict[str, Any], hub_url: str,
                                                 ollama: FakeOllama, tmp_path: Path) -> None:
    shots = artifacts(tmp_path)
    with served(runtime_settings, hub_url, browser) as (url, _):
        install(url, TINY_GGUF, "huggingface")
        rest(url, "POST", "/models/activate", {"name": GGUF, "runtime": "llamacpp"})
        page = open_page(browser, url)

        # One tab per local runtime of the profile, each panel drawn from runtime_status.
        names = [s["name"] for s in rest(url, "GET", "/system/llm-servers/active")["servers"]]
        expect(page.locator('#runtimes [role="tab"]')).to_have_count(len(names), timeout=LONG_MS)
        page.get_by_role("tab", name="llamacpp").click()
        llamacpp = panel(page, "llamacpp")
        expect(llamacpp).to_be_visible()
        before = server_status(url, "llamacpp")
        expect(fact(page, "llamacpp", "pid")).to_have_text(str(before["pid"]), timeout=LONG_MS)
        expect(fact(page, "llamacpp", "model")).to_have_text(GGUF)
        expect(fact(page, "llamacpp", "served_model_name")).to_have_text(GGUF)
        expect(fact(page, "llamacpp", "managed_by")).to_have_text("process started by venom-mcp")
        expect(fact(page, "llamacpp", "memory_mb")).to_contain_text("MB")
        expect(llamacpp.locator('.panel-head [data-field="status"]')).to_have_text("online")
        expect(llamacpp.locator('[data-field="alias"]')).to_be_hidden()

        # Restart through the button: held while it runs, then the new process as the server pushes it.
        page.evaluate(WATCH_PANEL, "llamacpp")
        page.get_by_role("button", name="Restart llamacpp", exact=True).click()
        expect(fact(page, "llamacpp", "pid")).not_to_have_text(str(before["pid"]), timeout=LONG_MS)
        after = server_status(url, "llamacpp")
        assert after["pid"] != before["pid"] and after["status"] == "online"
        expect(fact(page, "llamacpp", "pid")).to_have_text(str(after["pid"]), timeout=LONG_MS)
        expect(llamacpp.get_by_role("button", name="Restart llamacpp", exact=True)).to_be_enabled()
        seen = page.evaluate("window.panelSeen")
        assert any(s["busy"] == "restarting…" for s in seen), "the buttons were held while it restarted"
        assert {s["pid"] for s in seen} >= {str(before["pid"]), str(after["pid"])}
        shot(page, shots, "runtime-restarted.png")

        # A restart by another client shows too: nothing on this page asked for it.
        again = rest(url, "POST", "/system/llm-servers/llamacpp/restart", {})["server"]
        assert again["pid"] != after["pid"]
        expect(fact(page, "llamacpp", "pid")).to_have_text(str(again["pid"]), timeout=LONG_MS)

        # While an install runs on a runtime, its buttons are held (Ollama's pull is slowed, then let go).
        page.get_by_role("tab", name="ollama").click()
        ollama_panel = panel(page, "ollama")
        ollama.pull_delay = 3.0  # held until the page has shown it, then let go
        try:
            rest(url, "POST", "/models/registry/install", {"name": "llama3.2:latest", "provider": "ollama"})
            expect(ollama_panel.locator('[data-field="busy"]')).to_contain_text("install of llama3.2:latest",
                                                                               timeout=LONG_MS)
            for action in ("Start", "Stop", "Restart"):
                expect(ollama_panel.get_by_role("button", name=f"{action} ollama", exact=True)).to_be_disabled()
            shot(page, shots, "runtime-held-during-install.png")
        finally:
            ollama.pull_delay = 0
        expect(ollama_panel.locator('[data-field="busy"]')).to_have_text("", timeout=LONG_MS)
        expect(ollama_panel.get_by_role("button", name="Restart ollama", exact=True)).to_be_enabled()
        assert "llama3.2:latest" in ollama.installed

        # The alias warning: a server venom-mcp did not start answers on llama.cpp's port under another name.
        page.get_by_role("tab", name="llamacpp").click()
        page.get_by_role("button", name="Stop llamacpp", exact=True).click()
        expect(llamacpp.locator('.panel-head [data-field="status"]')).to_have_text("offline", timeout=LONG_MS)
        with stray_server(runtime_settings["llamacpp_endpoint"], "other-alias") as stray:
            warning = llamacpp.locator('[data-field="alias"]')
            expect(warning).to_be_visible(timeout=LONG_MS)
            expect(warning).to_contain_text(f"the server answers as “other-alias”, but “{GGUF}” is configured")
            expect(fact(page, "llamacpp", "managed_by")).to_have_text("started outside venom-mcp")
            expect(llamacpp.locator('.panel-head [data-field="status"]')).to_have_text("degraded")
            shot(page, shots, "runtime-alias-warning.png")
            # The repair stops the stray (it asks first: venom-mcp did not start it) and starts its own.
            dialogs: list[str] = []
            page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
            warning.get_by_role("button", name=f"Restart llamacpp with {GGUF}", exact=True).click()
            expect(warning).to_be_hidden(timeout=LONG_MS)
            assert dialogs and f"pid {stray.pid}" in dialogs[0] and GGUF in dialogs[0], dialogs
            assert stray.wait(timeout=60) is not None, "the stray was stopped"
        expect(fact(page, "llamacpp", "served_model_name")).to_have_text(GGUF, timeout=LONG_MS)
        expect(fact(page, "llamacpp", "managed_by")).to_have_text("process started by venom-mcp")
        expect(llamacpp.locator('.panel-head [data-field="status"]')).to_have_text("online")
        shot(page, shots, "runtime-alias-repaired.png")
        assert page.errors == [], page.errors  # type: ignore[attr-defined]


def test_alerts_and_request_history_follow_model_calls(browser: Browser, runtime_settings: dict[str, Any],
                                                       hub_url: str, tmp_path: Path) -> None:
    shots = artifacts(tmp_path)
    with served(runtime_settings, hub_url, browser, fallback_order="openai", alert_interval_seconds=1) as (url, app):
        install(url, TINY_GGUF, "huggingface")
        rest(url, "POST", "/models/activate", {"name": GGUF, "runtime": "llamacpp"})
        page = open_page(browser, url)
        banner = page.locator("#alerts-banner")
        history = page.locator("#history-list")
        expect(history).to_contain_text("No model requests yet.")
        expect(page.locator('#runtimes [role="tab"]').first).to_be_visible(timeout=LONG_MS)
        expect(banner).to_be_hidden()

        # llama.cpp goes down; a chat falls back to the cloud: the failed call is an alert at once, naming the
        # model and the endpoint, and the history shows both calls.
        endpoint = rest(url, "POST", "/system/llm-servers/llamacpp/stop", {})["server"]["endpoint"]
        answer = rest(url, "POST", "/chat", {"prompt": "hello", "max_tokens": 8})
        assert answer["llm_provider"] == "openai" and answer["fallback_from"] == "llamacpp"
        failed = banner.locator('li[data-kind="llm_error"]')
        expect(failed).to_be_visible(timeout=LONG_MS)
        expect(failed).to_contain_text("Model call failed")
        expect(failed).to_contain_text(f"model {GGUF} at {endpoint}")
        calls = rest(url, "GET", "/history/requests?limit=2")["requests"]
        rows = history.locator("tbody tr")
        expect(rows).to_have_count(2, timeout=LONG_MS)
        fallback, error = rows.nth(0), rows.nth(1)
        expect(fallback.locator('[data-field="provider"]')).to_have_text("openai")
        expect(fallback.locator('[data-field="model"]')).to_have_text(calls[0]["llm_model"])
        expect(fallback.locator('[data-field="endpoint"]')).to_have_text(calls[0]["llm_endpoint"])
        expect(fallback.locator('[data-field="fallback"]')).to_have_text("instead of llamacpp")
        expect(fallback.locator('[data-field="latency"]')).to_have_text(f"{calls[0]['duration_seconds'] * 1000:.0f} ms")
        expect(fallback.locator('[data-field="status"]')).to_have_text("ok")
        expect(error.locator('[data-field="provider"]')).to_have_text("llamacpp")
        expect(error.locator('[data-field="endpoint"]')).to_have_text(endpoint)
        expect(error.locator('[data-field="status"]')).to_have_text("error")
        expect(error.locator('[data-field="error"]')).to_contain_text("PROVIDER_DOWN")
        expect(error.locator('[data-field="fallback"]')).to_have_text("—")
        shot(page, shots, "alert-raised.png")
        shot(page, shots, "request-history.png", "#history")

        # The RAM threshold crosses under the reading: the watcher raises it, and the gauge is marked; put back, the
        # reading is below it by more than the margin, and both clear.
        app.settings.alert_ram_percent = 1
        ram = banner.locator('li[data-kind="ram"]')
        expect(ram).to_be_visible(timeout=LONG_MS)
        expect(ram).to_contain_text("VENOM_ALERT_RAM_PERCENT=1")
        expect(page.locator('[data-gauge="ram"]')).to_have_class("gauge alerting")
        shot(page, shots, "alert-ram.png")
        app.settings.alert_ram_percent = 100
        expect(ram).to_have_count(0, timeout=LONG_MS)
        expect(page.locator('[data-gauge="ram"]')).to_have_class("gauge")

        # Started again through its button, llama.cpp answers: the failed call's alert clears, and the banner goes.
        page.get_by_role("tab", name="llamacpp").click()
        page.get_by_role("button", name="Start llamacpp", exact=True).click()
        expect(panel(page, "llamacpp").locator('.panel-head [data-field="status"]')).to_have_text(
            "online", timeout=LONG_MS)
        assert rest(url, "POST", "/chat", {"prompt": "hello", "max_tokens": 8})["llm_provider"] == "llamacpp"
        expect(failed).to_have_count(0, timeout=LONG_MS)
        expect(banner).to_be_hidden(timeout=LONG_MS)  # the watcher's runtime alert, if it saw llama.cpp down, too
        expect(rows).to_have_count(3, timeout=LONG_MS)
        expect(rows.nth(0).locator('[data-field="provider"]')).to_have_text("llamacpp")
        shot(page, shots, "alert-cleared.png")
        assert page.errors == [], page.errors  # type: ignore[attr-defined]


def test_runtime_panels_draw_the_fields_a_cluster_runtime_reports(browser: Browser, runtime_settings: dict[str, Any],
                                                                  hub_url: str, tmp_path: Path) -> None:
    """The drawing code alone, on a page of its own (the README page, which runs no dashboard script): a `ray`
    server record shaped like the cluster records (records/cluster.py), with lists of replicas and nodes."""
    shots = artifacts(tmp_path)
    node = ClusterNode(node_id="n1", ip="10.0.0.5", head=True, cpus_total=16, cpus_free=12, gpus_total=1,
                       gpus_free=0, memory_total_gb=64, memory_free_gb=40.5, vram_total_gb=24, vram_free_gb=3.5)
    replica = ClusterReplica(application="org/model", replica_id="r-1", state="RUNNING", node_id="n1",
                             node_ip="10.0.0.5", pid=4242)
    ray = {"name": "ray", "status": "online", "endpoint": "http://10.0.0.5:8000/v1", "pid": None, "model": "org/model",
           "served_model_name": "org/model", "memory_mb": None, "uptime_seconds": None, "managed_by": "external",
           "command": None, "error": None, "tuning": None, "notes": [], "head_address": "10.0.0.5:6379",
           "replicas": [replica.model_dump(mode="json")], "nodes": [node.model_dump(mode="json")]}
    record = {"active": {"provider": "ray", "model": "org/model", "endpoint": ray["endpoint"], "service_type": "local",
                         "status": "online", "message": None}, "servers": [ray], "operations": []}
    with served(runtime_settings, hub_url, browser) as (url, _):
        page = open_page(browser, url)
        page.goto(f"{url}/models/readme")
        page.evaluate("""() => document.body.innerHTML = '<div id="runtime"></div><section id="runtimes">'
            + '<div class="tabs" role="tablist"></div><div id="runtime-panels"></div></section>'""")
        page.evaluate("""async (record) => {
            const i18n = await import('/models/static/i18n.js');
            await i18n.loadCatalogs();
            (await import('/models/static/runtimes.js')).drawRuntimes(record);
        }""", record)
        drawn = panel(page, "ray")
        expect(drawn).to_be_visible()
        replicas = drawn.locator('table[data-field="replicas"]')
        expect(replicas.locator("caption")).to_have_text("Replicas (1)")
        expect(replicas.locator("thead")).to_contain_text("Application")
        expect(replicas.locator("tbody tr")).to_have_count(1)
        expect(replicas.locator("tbody")).to_contain_text("RUNNING")
        expect(replicas.locator("tbody")).to_contain_text("4242")
        nodes = drawn.locator('table[data-field="nodes"]')
        expect(nodes.locator("thead")).to_contain_text("VRAM free (GB)")
        expect(nodes.locator("tbody")).to_contain_text("10.0.0.5")
        expect(nodes.locator("tbody")).to_contain_text("40.5")
        expect(drawn.locator('dd[data-field="head_address"]')).to_have_text("10.0.0.5:6379")  # an unknown scalar
        expect(page.locator('#runtime [data-field="active-provider"]')).to_have_text("ray")
        shot(page, shots, "runtime-cluster-fields.png", "#runtimes")
        assert page.errors == [], page.errors  # type: ignore[attr-defined]


async def _one_megabyte() -> Memory:
    return Memory(ram_free=RAM_RESERVE + 1_000_000)  # not even the weights of the tiny model


def test_a_model_that_will_not_fit_is_installed_only_when_the_user_says_so(
        runtime_settings: dict[str, Any], hub_url: str, browser: Browser, tmp_path: Path) -> None:
    """check_fit says `no`: the install is refused with the server's numbers, the page asks whether to install it
    all the same, and only a yes sends force=true."""
    shots = artifacts(tmp_path)
    with served(runtime_settings, hub_url, browser) as (url, app):
        app.fit.probe = _one_megabyte  # the free memory this test says, not this machine's
        page = open_page(browser, url)
        # The first catalog (trending) is drawn before searching, so that it cannot land over the search's answer.
        expect(page.locator("#catalog tbody tr").first).to_be_visible(timeout=LONG_MS)
        page.get_by_label("Catalog").select_option("huggingface")
        page.get_by_label("Search", exact=True).fill("tiny-GGUF")
        page.get_by_role("button", name="Search", exact=True).click()
        badge = page.locator(f'#catalog tr[data-model="{TINY_GGUF}"] [data-field="fit"]')
        expect(badge).to_have_attribute("data-verdict", "no", timeout=LONG_MS)
        button = page.locator("#catalog").get_by_role("button", name=f"Install {TINY_GGUF}")

        asked: list[str] = []
        page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
        button.click()
        expect(page.locator("#notice")).to_contain_text("will not fit")
        assert len(asked) == 1 and "will not fit" in asked[0] and asked[0].endswith("Install it anyway?"), asked
        assert rest(url, "GET", "/models/operations")["count"] == 0, "declined: nothing started"

        page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
        button.click()
        row = page.locator("#operations-list li").filter(has_text=TINY_GGUF)
        expect(row.locator('[data-field="status"]')).to_have_text("completed", timeout=LONG_MS)
        operation = rest(url, "GET", "/models/operations")["operations"][0]
        assert operation["status"] == "completed" and "force=true" in operation["message"], operation
        shot(page, shots, "forced-install.png")
        assert page.errors == [], page.errors  # type: ignore[attr-defined]
