"""The governance gate over MCP: rate limits, budgets with fallback to a local runtime, reason codes,
request history (also while a request runs), provider metrics, and secrets kept out of every output."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession

from tests.conftest import OPENAI_KEY, build, mcp_session
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_server import FakeOpenAI
from tests.test_catalog_tools import call, error_text
from venom_mcp.app import App
from venom_mcp.services.governance import mask


async def open_session(app: App) -> AsyncIterator[ClientSession]:
    async with mcp_session(app) as client:
        await call(client, "install_model", name="llama3.2:1b", provider="ollama", wait=True)
        yield client


@asynccontextmanager
async def governed(runtime_settings: dict[str, Any], **overrides: Any) -> AsyncIterator[ClientSession]:
    """OpenAI active, Ollama (with a model) as the fallback."""
    app = build(runtime_settings, fallback_order="ollama", **overrides)
    async for client in open_session(app):
        await call(client, "activate_model", name="llama3.2:1b", runtime="ollama")  # remembered for fallback
        await call(client, "switch_runtime", provider="openai")
        yield client


async def test_rate_limit_refuses_and_falls_back(runtime_settings: dict[str, Any], cloud: FakeOpenAI) -> None:
    async with governed(runtime_settings, rate_limits="openai=2/0") as client:
        answers = [await call(client, "chat", prompt=f"n{i}") for i in range(3)]
        assert [a["llm_provider"] for a in answers] == ["openai", "openai", "ollama"]
        assert answers[2]["fallback_from"] == "openai"
        assert len(cloud.bodies()) == 2, "the refused request never reached the provider"
        history = (await call(client, "request_history", limit=10))["requests"]
        refused = [r for r in history if r["reason"] == "RATE_LIMITED"]
        assert len(refused) == 1 and "VENOM_RATE_LIMITS" in refused[0]["error"]


async def test_budget_exhausted_falls_back_to_local(runtime_settings: dict[str, Any]) -> None:
    async with governed(
        runtime_settings, prices_per_1k="gpt-4o-mini=10/10", provider_budgets_usd="openai=0.001"
    ) as client:
        first = await call(client, "chat", prompt="an expensive question")
        assert first["llm_provider"] == "openai"
        second = await call(client, "chat", prompt="another one")
        assert second["llm_provider"] == "ollama" and second["fallback_from"] == "openai"
        metrics = {m["provider"]: m for m in (await call(client, "provider_metrics"))["providers"]}
        assert metrics["openai"]["cost_usd"] > 0.001 and metrics["ollama"]["cost_usd"] == 0
        history = (await call(client, "request_history"))["requests"]
        assert any(r["reason"] == "BUDGET_EXCEEDED" and "VENOM_PROVIDER_BUDGETS_USD" in r["error"] for r in history)


async def test_timeout_falls_back_and_history_shows_requests_in_flight(
    runtime_settings: dict[str, Any], cloud: FakeOpenAI
) -> None:
    async with governed(runtime_settings, llm_timeout_seconds=0.5) as client:
        cloud.fault, cloud.slow_seconds = "slow", 2
        pending = asyncio.ensure_future(call(client, "chat", prompt="slow one"))
        await asyncio.sleep(0.2)
        running = (await call(client, "request_history", limit=1))["requests"][0]
        assert running["finished_at"] is None and running["duration_seconds"] is None
        assert running["status"] == "in_progress"
        answer = await pending
        assert answer["llm_provider"] == "ollama" and answer["fallback_from"] == "openai"
        openai_record = next(
            r for r in (await call(client, "request_history"))["requests"] if r["llm_provider"] == "openai"
        )
        assert openai_record["reason"] == "TIMEOUT" and openai_record["finished_at"]


async def test_reason_codes_metrics_and_masking(
    runtime_settings: dict[str, Any], cloud: FakeOpenAI, ollama: FakeOllama, home: Path
) -> None:
    cloud.api_key = "the-right-key"  # our OPENAI_KEY is wrong: AUTH_ERROR
    app = build(runtime_settings)
    async for client in open_session(app):
        await call(client, "activate_model", name="llama3.2:1b", runtime="ollama")
        for _ in range(3):
            await call(client, "chat", prompt="fine")
        refused = await error_text(client, "switch_runtime", provider="openai")
        assert "AuthenticationError" in refused and OPENAI_KEY not in refused, "a switch is verified"
        app.runtime_state.record("openai", "gpt-4o-mini")  # as if the key was revoked after the switch
        auth = await error_text(client, "chat", prompt="hi")
        assert "AUTH_ERROR" in auth and OPENAI_KEY not in auth
        cloud.api_key, cloud.fault = None, "not_found"
        assert "MODEL_NOT_FOUND" in await error_text(client, "chat", prompt="hi")
        cloud.fault = "error"
        assert "PROVIDER_DOWN" in await error_text(client, "chat", prompt="hi")
        cloud.fault = None
        await call(client, "chat", prompt="ok now")
        metrics = {m["provider"]: m for m in (await call(client, "provider_metrics"))["providers"]}
        assert metrics["ollama"]["requests"] == 3 and metrics["ollama"]["success_rate"] == 1
        assert metrics["openai"]["requests"] == 4 and metrics["openai"]["errors"] == 3
        assert metrics["openai"]["success_rate"] == 0.25
        assert metrics["openai"]["health_score"] < metrics["ollama"]["health_score"] == 100
        assert metrics["ollama"]["latency_ms_p50"] is not None and metrics["ollama"]["latency_ms_p99"] is not None
        assert metrics["openai"]["prompt_tokens"] > 0
        history = (await call(client, "request_history", limit=100))["requests"]
        assert len(history) == 7 and history[0]["status"] == "ok" and history[0]["llm_provider"] == "openai"
        dumped = json.dumps(history) + json.dumps(metrics)
        assert OPENAI_KEY not in dumped
    for path in home.rglob("*"):
        if path.is_file():
            assert OPENAI_KEY not in path.read_text(errors="replace"), path
    stored = json.loads((home / "requests.json").read_text())
    assert len(stored["requests"]) == 7


def test_mask_hides_configured_secrets_and_keys_in_urls() -> None:
    error = "GET https://generativelanguage.googleapis.com/v1beta/models?key=AIzaSECRET123&alt=json failed; sk-abc123"
    masked = mask(error, ["sk-abc123"])
    assert "AIzaSECRET123" not in masked and "sk-abc123" not in masked
    assert "?key=***&alt=json" in masked


async def test_concurrent_requests_never_pass_the_limit(runtime_settings: dict[str, Any], cloud: FakeOpenAI) -> None:
    app = build(runtime_settings, rate_limits="openai=5/0")
    async for client in open_session(app):
        await call(client, "switch_runtime", provider="openai")
        results = await asyncio.gather(*(client.call_tool("chat", {"prompt": f"c{i}"}) for i in range(12)))
        assert sum(not r.isError for r in results) == 5
        assert len(cloud.bodies()) == 5


async def test_history_of_an_older_format_is_read(runtime_settings: dict[str, Any], home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "requests.json").write_text(
        json.dumps(
            [
                {
                    "request_id": "old1",
                    "llm_provider": "ollama",
                    "llm_model": "phi3:mini",
                    "started_at": "2025-12-01T10:00:00",
                    "status": "ok",
                },
                {
                    "request_id": "old2",
                    "llm_provider": "vllm",
                    "llm_model": "x",
                    "started_at": "2025-12-01T10:01:00",
                    "status": "in_progress",
                },
                {"garbage": True},
            ]
        )
    )
    app = build(runtime_settings)
    async for client in open_session(app):
        history = (await call(client, "request_history"))["requests"]
        assert [r["request_id"] for r in history] == ["old2", "old1"]
        assert history[0]["status"] == "error" and "interrupted" in history[0]["error"]
        assert history[1]["finished_at"] is None and history[1]["duration_seconds"] is None


async def test_warnings_reach_the_client_logs_carry_request_ids_and_spans_are_made(
    runtime_settings: dict[str, Any], cloud: FakeOpenAI, home: Path
) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from venom_mcp.logs import configure, shutdown

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # the one place in the suite that configures an SDK
    app = build(runtime_settings, fallback_order="ollama")
    configure(app.settings)
    notices: list[Any] = []

    async def on_log(params: Any) -> None:
        notices.append(params)

    try:
        async with mcp_session(app, logging_callback=on_log
        ) as client:
            await call(client, "install_model", name="llama3.2:1b", provider="ollama", wait=True)
            await call(client, "activate_model", name="llama3.2:1b", runtime="ollama")
            await call(client, "switch_runtime", provider="openai")
            cloud.fault = "error"
            answer = await call(client, "chat", prompt="hi")
            assert answer["fallback_from"] == "openai"
            await asyncio.sleep(0.2)
            failed = next(r for r in (await call(client, "request_history"))["requests"] if r["status"] == "error")
    finally:
        shutdown()
    warnings = [n for n in notices if n.level == "warning"]
    assert warnings and "PROVIDER_DOWN" in str(warnings[0].data) and OPENAI_KEY not in str(notices)
    log_text = (home / "logs" / "venom-mcp.log").read_text()
    assert f"[{failed['request_id']}]" in log_text and OPENAI_KEY not in log_text
    names = [s.name for s in exporter.get_finished_spans()]
    assert "mcp.tool chat" in names and names.count("llm.request") >= 2
    llm = [s for s in exporter.get_finished_spans() if s.name == "llm.request"]
    assert {s.attributes["llm.provider"] for s in llm} >= {"openai", "ollama"}  # type: ignore[index]


async def test_keys_stay_out_of_connection_errors_and_keyed_urls(
    runtime_settings: dict[str, Any], closed_url: str, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.conftest import GOOGLE_KEY

    keyed = f"{closed_url}/v1beta/openai?key={GOOGLE_KEY}"  # a key in the URL, as Gemini's REST API takes it
    app = build(runtime_settings, openai_base_url=closed_url + "/v1", google_base_url=keyed,
                fallback_order="google")
    outputs: list[str] = []
    async with mcp_session(app) as client:
        outputs.append(await error_text(client, "switch_runtime", provider="openai"))
        app.runtime_state.record("openai", "gpt-4o-mini")  # recorded before the cloud went away
        outputs.append(await error_text(client, "chat", prompt="hi"))
        outputs.append(json.dumps(await call(client, "request_history")))
        outputs.append(json.dumps(await call(client, "provider_metrics")))
        outputs.append(json.dumps(await call(client, "runtime_status")))
    assert "did not answer" in outputs[0] and "PROVIDER_DOWN" in outputs[1]
    files = "".join(p.read_text(errors="replace") for p in home.rglob("*") if p.is_file())
    for text in [*outputs, files, caplog.text]:
        assert OPENAI_KEY not in text and GOOGLE_KEY not in text
