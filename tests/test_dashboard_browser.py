"""The /models dashboard in real headless Chromium (Debian's package, driven by Playwright; no browser download):
live resource gauges, trending from the fake Hub with fit badges, an install whose progress bar climbs to 100 %,
activate, remove with confirmation, the confirmation of a large install, the offline banner and its link to the
README, the interface languages, and the login field when a token is set. The runtime panels, alerts and request
history: test_dashboard_live_browser.py. Screenshots land in the test's temporary folder ($VENOM_TEST_ARTIFACTS
instead, when set)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser_pages import (
    LONG_MS,
    TIMEOUT_MS,
    artifacts,
    expected_failure,
    require_chromium,
    rest,
    served,
)
from tests.conftest import build, http_served
from tests.fakes.hub import TINY_GGUF, FakeHub
from tests.fakes.live import LiveServer
from tests.fakes.ollama import FakeOllama
from venom_mcp.web.i18n import catalog

GGUF = f"{TINY_GGUF}:Q4_K_M"  # one quantization of the repo is what gets installed
README = Path(__file__).parents[1] / "README.md"

require_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

expect.set_options(timeout=TIMEOUT_MS)


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
def dashboard(runtime_settings: dict[str, Any], own_hub: tuple[FakeHub, LiveServer], browser: Browser) -> Iterator[str]:
    # TTL 0: every refresh asks the Hub, so stopping it shows at once as the offline state.
    with served(runtime_settings, own_hub[1].url, browser, cache_ttl_seconds=0) as (url, _):
        yield url


def new_page(browser: Browser) -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(f"{message.text} ({message.location})")
            if message.type == "error" and not expected_failure(message) else None)
    page.errors = errors  # type: ignore[attr-defined]
    return page


def shot(page: Page, folder: Path, name: str, part: str | None = None) -> None:
    """The whole page, or one part of it."""
    if part is None:
        page.screenshot(path=str(folder / name), full_page=True)
    else:
        page.locator(part).screenshot(path=str(folder / name))


# Records every value a progress bar of the Operations section shows, as the page renders it.
WATCH_PROGRESS = """() => {
  window.progressSeen = [];
  const record = () => document.querySelectorAll('#operations-list progress').forEach(
      (bar) => window.progressSeen.push([bar.closest('li').dataset.operationId, Number(bar.value)]));
  new MutationObserver(record).observe(document.getElementById('operations-list'),
      {subtree: true, childList: true, attributes: true, attributeFilter: ['value']});
}"""


def test_dashboard_end_to_end(browser: Browser, dashboard: str, own_hub: tuple[FakeHub, LiveServer],
                              ollama: FakeOllama, tmp_path: Path) -> None:
    shots = artifacts(tmp_path)
    hub_server = own_hub[1]
    page = new_page(browser)
    page.goto(f"{dashboard}/models")
    expect(page).to_have_title("Models · venom-mcp")

    # Resource gauges: the readings the server pushes (twice at least: they are live), as resource_usage reads them.
    expect(page.locator("#resources")).to_have_attribute("data-samples", re.compile(r"^([2-9]|\d\d+)$"),
                                                         timeout=LONG_MS)
    usage = rest(dashboard, "GET", "/models/usage")["usage"]
    ram = page.locator('[data-gauge="ram"]')
    expect(ram.locator('[data-field="detail"]')).to_contain_text(f"of {usage['memory_total_gb']:.1f} GB")
    expect(ram.locator('[data-field="value"]')).to_have_text(
        f"{float(ram.get_attribute('data-value') or 'nan'):.0f} %")
    expect(page.locator('[data-gauge="disk"] [data-field="detail"]')).to_contain_text(
        f"of {usage['disk_limit_gb']:.1f} GB (MODELS_MAX_DISK_GB)")
    vram = page.locator('[data-gauge="vram"] [data-field="detail"]')
    if usage["vram_total_mb"] is None:
        expect(vram).to_have_text("no NVIDIA GPU")
    else:
        expect(vram).to_contain_text(f"of {usage['vram_total_mb'] / 1000:.1f} GB")
    for gauge in ("cpu", "ram", "vram", "disk"):
        expect(page.locator(f'[data-gauge="{gauge}"] meter')).to_be_attached()

    # Trending: the rows are the fake Hub's trending models, in its order.
    trending = httpx.get(f"{dashboard}/api/v1/models/trending", params={"provider": "huggingface", "limit": 8}).json()
    hf = page.locator("#trending-huggingface")
    expect(hf.locator("tbody tr")).to_have_count(trending["count"])
    assert hf.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.model)") == [
        m["model_name"] for m in trending["models"]]
    expect(page.locator("#trending-ollama tbody tr").first).to_be_visible()
    expect(page.locator("#runtime")).to_contain_text("none")
    expect(page.locator("#offline-banner")).to_be_hidden()

    # A model over 20 GB asks first, naming its size and what the disk quota leaves; dismissed, nothing starts.
    page.get_by_label("Catalog").select_option("huggingface")
    page.get_by_label("Search", exact=True).fill("phi-4")
    page.get_by_role("button", name="Search", exact=True).click()
    big = next(m for m in rest(dashboard, "GET", "/models/providers?provider=huggingface&query=phi-4")["models"]
               if m["model_name"] == "microsoft/phi-4")
    dialogs: list[str] = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.locator("#catalog").get_by_role("button", name="Install microsoft/phi-4").click()
    expect(page.locator("#catalog").get_by_role("button", name="Install microsoft/phi-4")).to_be_enabled()
    free = min(usage["disk_limit_gb"] - usage["disk_usage_gb"], usage["disk_free_gb"])  # the quota, or the disk
    assert len(dialogs) == 1, dialogs
    asked = re.fullmatch(rf"microsoft/phi-4 is {big['size_gb']:.1f} GB, more than 20 GB\. Free for models \(the disk, "
                         r"within MODELS_MAX_DISK_GB\): ([\d.]+) GB\. Install it\?", dialogs[0])
    assert asked is not None, dialogs
    assert abs(float(asked[1]) - free) < 0.5  # the disk's free space moves a little while other work writes
    assert rest(dashboard, "GET", "/models/operations")["count"] == 0, "dismissed: nothing was started"

    # Install from the catalog search; the row's fit badge is the server's verdict for it.
    page.get_by_label("Search", exact=True).fill("tiny-GGUF")
    page.get_by_role("button", name="Search", exact=True).click()
    fit = rest(dashboard, "POST", "/models/fit", {"name": GGUF, "provider": "huggingface", "runtime": "llamacpp"})
    badge = page.locator(f'#catalog tr[data-model="{TINY_GGUF}"] [data-field="fit"]')
    expect(badge).to_have_attribute("data-verdict", fit["verdict"], timeout=LONG_MS)
    expect(badge).to_have_text(catalog("en")[f"fit.{fit['verdict']}"])
    assert "Needs" in (badge.get_attribute("title") or "") and "Free now: RAM" in (badge.get_attribute("title") or "")
    unknown = hf.locator('[data-field="fit"]').first
    expect(unknown).to_have_attribute("data-verdict", "unknown", timeout=LONG_MS)  # no files for it on the fake Hub
    expect(unknown).to_have_attribute("title", "No estimate: " + httpx.post(
        f"{dashboard}/api/v1/models/fit", json={"name": trending["models"][0]["model_name"],
                                                "provider": "huggingface", "runtime": "vllm"}).json()["error"])
    # The repo's quantizations with their sizes (the catalog row's), the install default chosen; another choice
    # asks for its own estimate.
    row_data = next(m for m in rest(dashboard, "GET", "/models/providers?provider=huggingface&query=tiny-GGUF")[
        "models"] if m["model_name"] == TINY_GGUF)
    quant = page.locator(f'#catalog tr[data-model="{TINY_GGUF}"] select[data-field="quantization"]')
    assert quant.locator("option").evaluate_all("options => options.map(o => o.value)") == [
        q["name"] for q in row_data["quantizations"]]
    expect(quant).to_have_value(next(q["name"] for q in row_data["quantizations"] if q["install_default"]))
    quant.select_option("Q8_0")
    q8 = rest(dashboard, "POST", "/models/fit", {"name": f"{TINY_GGUF}:Q8_0", "provider": "huggingface"})
    expect(badge).to_have_attribute("data-name", f"{TINY_GGUF}:Q8_0")
    expect(badge).to_have_attribute("data-verdict", q8["verdict"], timeout=LONG_MS)
    quant.select_option("Q4_K_M")
    expect(badge).to_have_attribute("data-name", GGUF)
    shot(page, shots, "fit-badge.png", "#available")
    page.get_by_role("button", name=f"Install {TINY_GGUF}").click()
    expect(page.locator("#notice")).to_contain_text(f"installation of {TINY_GGUF}")
    row = page.locator("#operations-list li").filter(has_text=GGUF)
    expect(row.locator('[data-field="status"]')).to_have_text("completed", timeout=LONG_MS)
    expect(row.locator("progress")).to_have_js_property("value", 100)
    expect(row).to_contain_text("3.0 MiB of 3.0 MiB")
    expect(page.locator("#notice")).to_contain_text(f"install of {GGUF} completed")

    # Activate: the header follows the runtime and its health live.
    installed = page.locator("#installed-list")
    expect(installed.locator("tbody tr")).to_have_count(1)
    page.get_by_role("button", name=f"Activate {GGUF} on llamacpp").click()
    expect(page.locator('#runtime [data-field="active-provider"]')).to_have_text("llamacpp", timeout=LONG_MS)
    expect(page.locator('#runtime [data-field="active-model"]')).to_have_text(GGUF)
    expect(page.locator('#runtime [data-field="active-status"]')).to_have_text("online", timeout=LONG_MS)
    expect(installed.locator("tr.active")).to_contain_text("active")
    expect(page.locator("#notice")).to_contain_text(f"{GGUF} is active on llamacpp")
    if fit["verdict"] == "cpu":  # the fit check's warning, in the server's words
        expect(page.locator("#notice")).to_contain_text("it will run on the CPU only")

    # An Ollama model from the Ollama trending list, its bar following the bytes Ollama reports.
    ollama.pull_delay = 0.2  # about 4 s in all: several progress events
    page.evaluate(WATCH_PROGRESS)
    page.get_by_role("button", name="Install llama3.2:latest").click()
    ollama_row = page.locator("#operations-list li").filter(has_text="install llama3.2:latest")
    expect(ollama_row.locator('[data-field="status"]')).to_have_text("completed", timeout=LONG_MS)
    expect(ollama_row.locator("progress")).to_have_js_property("value", 100)
    pull = ollama_row.get_attribute("data-operation-id")
    seen = [value for op, value in page.evaluate("window.progressSeen") if op == pull]
    assert any(0 < value < 100 for value in seen), f"no partial progress was shown: {seen}"
    assert seen == sorted(seen) and seen[-1] == 100, f"the bar only climbs, to 100: {seen}"

    # Remove it (after a confirmation); the active model is refused with the reason.
    expect(installed.locator("tbody tr")).to_have_count(2)
    shot(page, shots, "dashboard.png")

    dialogs.clear()
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

    # The Hub goes away: the section keeps its data, marked with its time, and the banner says so, with a link to
    # the README's section on offline use, served by this server (it has to work offline).
    hub_server.stop()
    hf.get_by_role("button", name="Refresh Hugging Face Hub trending").click()
    banner = page.locator("#offline-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Offline: Hugging Face Hub trending could not be reached")
    expect(banner).to_contain_text("showing cached data from")
    expect(hf.locator(".stale")).to_contain_text("offline: cached data from")
    expect(hf.locator("tbody tr")).to_have_count(trending["count"])
    help_link = banner.get_by_role("link", name="Working offline: see the README")
    expect(help_link).to_have_attribute("href", "/models/readme#stale-data-and-offline-use")
    assert "\n### Stale data and offline use\n" in README.read_text(encoding="utf-8")
    shot(page, shots, "dashboard-offline.png")
    with page.context.expect_page() as opened:
        help_link.click()
    readme = opened.value
    expect(readme.locator("h3#stale-data-and-offline-use")).to_have_text("Stale data and offline use")
    expect(readme.locator("h3#stale-data-and-offline-use + p")).to_contain_text("Every answer carries `stale`")
    readme.screenshot(path=str(shots / "readme-offline-section.png"))  # where the link lands
    readme.close()
    hub_server.start()  # back on the same port
    hf.get_by_role("button", name="Refresh Hugging Face Hub trending").click()
    expect(banner).to_be_hidden()
    assert page.errors == [], page.errors  # type: ignore[attr-defined]


def test_the_language_is_chosen_on_the_page_and_kept(browser: Browser, dashboard: str, tmp_path: Path) -> None:
    shots = artifacts(tmp_path)
    catalogs = httpx.get(f"{dashboard}/models/static/i18n.json").json()
    page = new_page(browser)
    page.goto(f"{dashboard}/models")
    expect(page.locator("#resources-title")).to_have_text("Resources")
    expect(page.locator('#runtimes [role="tab"]').first).to_be_visible(timeout=LONG_MS)
    for lang, title, own in (("pl", "Zasoby", ("#runtimes-title", "Lokalne środowiska uruchomieniowe")),
                             ("de", "Ressourcen", ("#trending-huggingface thead", "Größe"))):
        label = catalogs[page.evaluate("document.documentElement.lang")]["page.language"]
        page.get_by_label(label, exact=True).select_option(lang)
        expect(page.locator("html")).to_have_attribute("lang", lang)
        texts = catalogs[lang]
        expect(page.locator("#resources-title")).to_have_text(title)
        expect(page.locator(own[0])).to_contain_text(own[1])  # with its diacritics
        # Every string of the page shell is the language's own.
        shell = page.locator("[data-i18n]").evaluate_all(
            "nodes => nodes.filter(n => !n.closest('[hidden]')).map(n => [n.dataset.i18n, n.textContent])")
        assert shell and all(text == texts[key] for key, text in shell), [(k, t) for k, t in shell if t != texts[k]]
        expect(page).to_have_title(texts["page.title"])
        # The sections the server renders, in the language the page asks for.
        expect(page.locator("#installed-list")).to_contain_text(texts["installed.none"])
        expect(page.locator("#trending-huggingface thead")).to_contain_text(texts["catalog.fit"])
        expect(page.locator("#search-query")).to_have_attribute("placeholder", texts["search.placeholder"])
        # The parts the script draws from the live state, numbers in the language's format (a decimal comma).
        ollama_tab = page.locator('#runtimes [role="tab"][data-runtime="ollama"] [data-field="status"]')
        expect(ollama_tab).to_have_text(texts["status.online"])
        expect(page.locator('#runtime-panels [data-runtime="ollama"] dt[data-key="managed_by"]')).to_have_text(
            texts["field.managed_by"])
        # Under 1 GB in use (a quiet machine) is shown in MB, whole: no decimal comma to see there.
        pattern = re.escape(texts["resources.of"]).replace(r"\{used\}", r"(\d+,\d GB|\d+ MB)").replace(
            r"\{total\}", r"\d+,\d GB")
        expect(page.locator('[data-gauge="ram"] [data-field="detail"]')).to_have_text(re.compile(pattern))
        shot(page, shots, f"dashboard-{lang}.png")
        assert page.evaluate("localStorage.getItem('venom-mcp-lang')") == lang

        # Kept: a new visit opens in the chosen language.
        page.reload()
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator("#resources-title")).to_have_text(title)
        expect(page.locator("#installed-title")).to_have_text(texts["section.installed"])
        expect(page.locator("#language")).to_have_value(lang)
        expect(page.locator('#runtimes [role="tab"][data-runtime="ollama"] [data-field="status"]')).to_have_text(
            texts["status.online"], timeout=LONG_MS)
    assert page.errors == [], page.errors  # type: ignore[attr-defined]


def test_dashboard_login_keeps_the_token_in_the_session(browser: Browser, runtime_settings: dict[str, Any]) -> None:
    token = "browser-token-0123456789abcdef"
    with http_served(build(runtime_settings, http_token=token)) as server:
        page = new_page(browser)
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
        # The live streams start after the sign-in too.
        expect(page.locator('#runtimes [role="tab"][data-runtime="ollama"]')).to_be_visible(timeout=LONG_MS)
        expect(page.locator("#resources")).to_have_attribute("data-samples", re.compile(r"^\d+$"),
                                                             timeout=LONG_MS)
        assert page.evaluate("sessionStorage.getItem('venom-mcp-token')") == token
        assert token not in page.url
        assert page.evaluate("localStorage.length") == 0, "nothing outlives the tab"
        assert json.dumps(page.evaluate("Object.assign({}, localStorage)")).find(token) < 0
        page.context.close()  # its event streams would hold the server's shutdown
