"""Alerts: thresholds with hysteresis (injected readings and clock, no real memory pressure), persistence over a
restart, a failed model call against the fake OpenAI server, a runtime going offline, delivery as MCP log
notifications, over REST and as Server-Sent Events; and the watcher task, started and stopped with the server."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import aconnect_sse
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import LoggingMessageNotificationParams
from openapi_core import OpenAPI

from tests.conftest import build, http_served, make_settings, mcp_session
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_server import FakeOpenAI
from tests.test_catalog_tools import call, error_text
from tests.test_rest_api import Api
from tests.test_transports import server_env
from venom_mcp.app import App
from venom_mcp.config import Settings
from venom_mcp.records import Alert
from venom_mcp.services.alerts import RECENT_SECONDS, Alerts, Probes

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 10) -> None:
        self.now += timedelta(seconds=seconds)


class Readings:
    """What the injected probes read; None is no reading (as a machine without a GPU gives for VRAM)."""

    def __init__(self) -> None:
        self.ram: float | None = 40.0
        self.disk: tuple[float, float] | None = (1.0, 50.0)
        self.reads = 0

    async def memory(self) -> float | None:
        self.reads += 1
        return self.ram

    async def used_disk(self) -> tuple[float, float] | None:
        return self.disk

    def probes(self) -> Probes:
        return Probes(memory=self.memory, vram=_nothing, disk=self.used_disk, runtime=_no_runtime)


async def _nothing() -> float | None:
    return None


async def _no_runtime() -> None:
    return None


class Heard:
    """A listener that keeps what it is told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Alert]] = []

    async def __call__(self, event: str, alert: Alert) -> None:
        self.events.append((event, alert))

    def take(self) -> list[tuple[str, str, str]]:
        taken = [(event, alert.kind, alert.level) for event, alert in self.events]
        self.events.clear()
        return taken


def watcher(settings: Settings, readings: Readings, clock: Clock) -> Alerts:
    return Alerts(settings, settings.venom_home / "alerts.json", readings.probes(), clock=clock)


async def test_thresholds_with_hysteresis_do_not_flap(settings: Settings) -> None:
    readings, clock, heard = Readings(), Clock(), Heard()
    alerts = watcher(settings, readings, clock)
    alerts.listen(heard)

    async def at(ram: float) -> None:
        readings.ram = ram
        clock.tick()
        await alerts.check()
        await alerts.book.drain()

    await at(84.9)
    assert alerts.report(20).count == 0 and heard.take() == []
    await at(85.0)  # the threshold (VENOM_ALERT_RAM_PERCENT=85)
    raised = alerts.report(20).active[0]
    assert (raised.kind, raised.level, raised.value, raised.threshold) == ("ram", "warning", 85.0, 85.0)
    assert raised.raised_at == clock.now and raised.cleared_at is None and "VENOM_ALERT_RAM_PERCENT" in raised.message
    assert heard.take() == [("raised", "ram", "warning")]
    for ram in (84.0, 86.0, 80.5, 85.0, 83.0):  # hovering at the line: one alert, no news
        await at(ram)
    assert heard.take() == []
    (same,) = alerts.report(20).active
    assert same.alert_id == raised.alert_id and same.value == 83.0
    await at(93.0)  # halfway from 85 to 100 (92.5) on: critical
    await at(90.0)  # not yet 5 points under 92.5
    await at(87.0)
    assert heard.take() == [("changed", "ram", "critical"), ("changed", "ram", "warning")]
    await at(80.0)  # exactly the threshold minus the margin: still in force
    assert alerts.report(20).count == 1
    await at(79.9)
    assert heard.take() == [("cleared", "ram", "warning")]
    report = alerts.report(20)
    assert report.count == 0 and report.active == []
    cleared = report.recent[0]
    assert cleared.alert_id == raised.alert_id and cleared.cleared_at == clock.now and cleared.value == 79.9
    await at(85.0)
    assert alerts.report(20).active[0].alert_id != raised.alert_id, "a new crossing is a new alert"
    assert heard.take() == [("raised", "ram", "warning")]

    # The disk quota: installed models' GB against MODELS_MAX_DISK_GB (90 %), with the same margin.
    readings.ram = 10.0
    for used in (44.9, 45.0, 42.6, 42.4):
        readings.disk = (used, 50.0)
        clock.tick()
        await alerts.check()
    await alerts.book.drain()
    assert heard.take() == [("cleared", "ram", "warning"), ("raised", "disk", "warning"),
                            ("cleared", "disk", "warning")]
    disk = alerts.report(20).recent[0]
    assert disk.kind == "disk" and disk.threshold == 90 and "MODELS_MAX_DISK_GB=50" in disk.message
    assert all(a.kind != "vram" for a in alerts.report(200).recent), "no GPU: no VRAM check"
    await alerts.aclose()


async def test_alerts_are_kept_over_a_restart(settings: Settings) -> None:
    readings, clock = Readings(), Clock()
    first = watcher(settings, readings, clock)
    readings.ram = 97.0
    await first.check()
    clock.tick()
    readings.disk = (49.0, 50.0)
    await first.check()
    clock.tick()
    readings.disk = (10.0, 50.0)
    await first.check()
    before = first.report(20)
    assert [a.kind for a in before.active] == ["ram"] and [a.kind for a in before.recent] == ["disk", "ram"]
    await first.aclose()
    stored = json.loads((settings.venom_home / "alerts.json").read_text())
    assert [a["kind"] for a in stored["active"]] == ["ram"] and [a["kind"] for a in stored["recent"]] == ["disk"]

    again = watcher(settings, readings, clock)  # a new process on the same VENOM_HOME
    after = again.report(20)
    assert after.model_dump() == before.model_dump()
    readings.ram = 82.0  # under the threshold, not under it minus the margin: the same alert goes on
    clock.tick()
    await again.check()
    (ram,) = again.report(20).active
    assert ram.alert_id == before.active[0].alert_id and ram.level == "warning"  # eased from critical
    readings.ram = 50.0
    await again.check()
    assert again.report(20).count == 0
    await again.aclose()


async def test_the_watcher_checks_every_interval_and_stops(settings: Settings) -> None:
    readings = Readings()
    alerts = Alerts(settings, settings.venom_home / "alerts.json", readings.probes(), interval=0.01)
    alerts.start()
    alerts.start()  # one task, however often it is started
    for _ in range(500):
        if readings.reads >= 3:
            break
        await asyncio.sleep(0.01)
    assert readings.reads >= 3 and alerts.running
    await alerts.aclose()
    assert not alerts.running
    reads = readings.reads
    await asyncio.sleep(0.05)
    assert readings.reads == reads, "nothing runs after aclose"


async def _wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def test_a_failed_call_is_an_alert_at_once_and_reaches_every_session(
    runtime_settings: dict[str, Any], cloud: FakeOpenAI
) -> None:
    # vLLM active (the fake OpenAI server stands in for it) with a served name it does not serve: its 404.
    endpoint = runtime_settings["openai_base_url"]
    app = build(runtime_settings, vllm_endpoint=endpoint)
    app.runtime_state.record("vllm", "org/served-name")
    told: list[LoggingMessageNotificationParams] = []

    async def logged(params: LoggingMessageNotificationParams) -> None:
        if params.logger == "venom-mcp.alerts":
            told.append(params)

    async with mcp_session(app, logging_callback=logged) as client:
        assert (await call(client, "alerts"))["count"] == 0
        assert "MODEL_NOT_FOUND" in await error_text(client, "chat", prompt="hi")
        (alert,) = (await call(client, "alerts"))["active"]
        assert alert["kind"] == "llm_error" and alert["level"] == "warning"
        assert (alert["llm_provider"], alert["llm_model"], alert["llm_endpoint"]) == ("vllm", "org/served-name",
                                                                                      endpoint)
        assert "404" in alert["message"] and "org/served-name" in alert["message"] and endpoint in alert["message"]
        await _wait_for(lambda: len(told) == 1)
        assert told[0].level == "warning" and told[0].data["event"] == "raised"
        assert told[0].data["alert"]["alert_id"] == alert["alert_id"]

        for _ in range(3):  # failures in a row: critical, and the provider's error rate is over 50 %
            await error_text(client, "chat", prompt="hi")
        report = await call(client, "alerts")
        kinds = {a["kind"]: a for a in report["active"]}
        assert kinds["llm_error"]["level"] == "critical" and kinds["llm_error"]["value"] == 4
        assert kinds["llm_error_rate"]["value"] == 100 and kinds["llm_error_rate"]["llm_provider"] == "vllm"
        assert kinds["llm_error"]["alert_id"] == alert["alert_id"], "the same condition, one alert"

        cloud.models.append("org/served-name")  # the server serves it now
        answer = await call(client, "chat", prompt="hi")
        assert answer["llm_provider"] == "vllm"
        report = await call(client, "alerts")
        assert [a["kind"] for a in report["active"]] == ["llm_error_rate"], "4 of 5 calls failed: still over"
        cleared = next(a for a in report["recent"] if a["alert_id"] == alert["alert_id"])
        assert cleared["cleared_at"] is not None and "answered" in cleared["message"]
        await _wait_for(lambda: any(t.data["event"] == "cleared" for t in told))
        events = [(t.level, t.data["event"], t.data["alert"]["kind"]) for t in told]
        assert events == [("warning", "raised", "llm_error"), ("warning", "changed", "llm_error"),
                          ("warning", "raised", "llm_error_rate"), ("info", "cleared", "llm_error")], events


async def test_the_active_runtime_going_offline(settings: Settings, ollama: FakeOllama) -> None:
    quiet = Probes(memory=_nothing, vram=_nothing, disk=_no_disk)
    app = App(settings, alert_probes=quiet)  # the runtime probe is the machine's: the real health check
    async with mcp_session(app) as client:
        await call(client, "install_model", name="llama3.2:1b", provider="ollama", wait=True)
        await call(client, "activate_model", name="llama3.2:1b", runtime="ollama")
        await app.alerts.check()
        assert app.alerts.report(20).count == 0
        ollama.fault = "error"  # every request fails: the runtime is offline
        await app.alerts.check()
        (alert,) = (await call(client, "alerts"))["active"]
        assert (alert["kind"], alert["level"], alert["llm_provider"], alert["llm_model"]) == (
            "runtime", "critical", "ollama", "llama3.2:1b")
        assert alert["llm_endpoint"] == settings.ollama_host and "offline" in alert["message"]
        await app.alerts.check()
        assert (await call(client, "alerts"))["active"][0]["alert_id"] == alert["alert_id"]
        ollama.fault = None
        await app.alerts.check()
        report = await call(client, "alerts")
        assert report["count"] == 0 and "online again" in report["recent"][0]["message"]


async def _no_disk() -> tuple[float, float] | None:
    return None


async def test_rest_and_event_stream_over_the_running_watcher(
    home: Path, hub_url: str, library_url: str, ollama_url: str
) -> None:
    readings = Readings()
    settings = make_settings(home, hub_url, library_url, ollama_host=ollama_url, alert_interval_seconds=0.05)
    app = App(settings, alert_probes=readings.probes())
    with http_served(app) as server:
        api = Api(server.url, OpenAPI.from_dict(httpx.get(server.url + "/openapi.json").json()))
        async with api.client as client:  # every JSON answer is checked against /openapi.json
            empty = await api.get("/api/v1/alerts")
            assert empty == {"success": True, "active": [], "recent": [], "count": 0}
            seen: list[tuple[str, dict[str, Any]]] = []
            async with aconnect_sse(client, "GET", "/api/v1/alerts/events") as source:
                assert source.response.headers["content-type"].startswith("text/event-stream")
                events = source.aiter_sse()
                first = await anext(events)
                assert first.event == "alerts" and json.loads(first.data)["count"] == 0
                readings.ram = 96.0  # read by the watcher the server started
                seen.append(await _next(events))
                readings.ram = 30.0
                seen.append(await _next(events))
            assert [(event, alert["kind"], alert["level"]) for event, alert in seen] == [
                ("raised", "ram", "critical"), ("cleared", "ram", "critical")]
            assert seen[0][1]["alert_id"] == seen[1][1]["alert_id"] and seen[1][1]["cleared_at"]
            listed = await api.get("/api/v1/alerts", limit=5)
            assert listed["count"] == 0 and listed["recent"][0]["kind"] == "ram"
            assert "limit" in (await api.get("/api/v1/alerts", 400, limit=0))["error"]
            assert api.checked == 3
        assert app.alerts.running
    assert not app.alerts.running, "the server's end stops the watcher"


async def test_the_stdio_server_starts_the_watcher(home: Path, hub_url: str, library_url: str) -> None:
    env = {**server_env(home, hub_url, library_url), "VENOM_ALERT_RAM_PERCENT": "1",  # any machine is over 1 %
           "VENOM_ALERT_INTERVAL_SECONDS": "0.1"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "venom_mcp", "serve"], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        # No warnings to this session: one still on its way when the session closes would hit the SDK's stdio
        # reader after its stream is gone (the alert's notification is tested in test_mcp_logging).
        await session.set_logging_level("error")
        for _ in range(200):
            result = (await session.call_tool("alerts", {})).structuredContent
            if result and result["count"]:
                break
            await asyncio.sleep(0.1)
        assert result is not None and result["active"][0]["kind"] == "ram" and result["active"][0]["threshold"] == 1
    stored = json.loads((home / "alerts.json").read_text())
    assert [a["kind"] for a in stored["active"]] == ["ram"], "written by the server, kept for the next start"


async def _next(events: Any) -> tuple[str, dict[str, Any]]:
    event = await asyncio.wait_for(anext(events), 20)
    return event.event, json.loads(event.data)


async def test_a_failed_call_alert_clears_after_a_quiet_while(settings: Settings) -> None:
    from venom_mcp.records import RequestRecord

    clock = Clock()
    alerts = Alerts(settings, settings.venom_home / "alerts.json", Probes(), clock=clock)
    failed = RequestRecord(request_id="r1", llm_provider="openai", llm_model="gpt-4o-mini",
                           llm_endpoint="http://127.0.0.1:9/v1", started_at=START, status="error",
                           error="PROVIDER_DOWN: APIConnectionError: Connection error.")
    alerts.record_call(failed)
    assert [a.kind for a in alerts.report(20).active] == ["llm_error"]
    clock.tick(RECENT_SECONDS - 1)
    await alerts.check()
    assert alerts.report(20).count == 1
    clock.tick(2)
    await alerts.check()
    report = alerts.report(20)
    assert report.count == 0 and "no failure" in report.recent[0].message
    await alerts.aclose()

