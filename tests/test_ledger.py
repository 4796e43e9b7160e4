"""The spend ledger ($VENOM_HOME/ledger.jsonl): budgets, cost and provider_metrics survive restarts, a torn last
line is survived, old calls are compacted into totals, per-model metrics, and the INFO line of each call."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from venom_mcp.config import Settings
from venom_mcp.errors import ConfigError
from venom_mcp.services.governance import Call, GateClosed, Governance, Ledger

TODAY = date(2025, 12, 15)
ENDPOINT = "https://api.openai.example/v1"


def settings_for(home: Path, **values: Any) -> Settings:
    base: dict[str, Any] = {"venom_home": home, "openai_api_key": None, "google_api_key": None, "hf_token": None,
                            "http_token": None, "prices_per_1k": "gpt-4o-mini=10/10,gpt-4o=1/1",
                            "provider_budgets_usd": "", "provider_budgets_soft_usd": "", "budget_usd": None,
                            "budget_soft_usd": None, "budget_period": "month", "rate_limits": ""}
    return Settings(_env_file=None, **{**base, **values})


def governance(settings: Settings, **ledger: Any) -> Governance:
    path = settings.path("requests.json")
    return Governance(settings, path, ledger=Ledger(path.with_name("ledger.jsonl"), today=lambda: TODAY, **ledger))


async def spend(gov: Governance, provider: str = "openai", model: str = "gpt-4o-mini", tokens: int = 100,
                error: BaseException | None = None) -> None:
    record = await gov.admit(provider, model, ENDPOINT, tokens)
    gov.finish(record, error=error, prompt_tokens=tokens, completion_tokens=tokens)


def call(day: date, provider: str = "openai", model: str = "gpt-4o-mini", cost: float = 1.0, ok: bool = True,
         latency_ms: float = 100.0) -> Call:
    return Call(at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC), provider=provider, model=model, ok=ok,
                reason=None if ok else "TIMEOUT", prompt_tokens=10, completion_tokens=20, cost_usd=cost,
                latency_ms=latency_ms)


async def test_a_spent_budget_still_refuses_after_a_restart(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, provider_budgets_usd="gpt=1.5")  # an alias of openai
    first = governance(settings)
    await spend(first)  # 200 tokens at $10/1k: $2
    with pytest.raises(GateClosed) as refused:
        await spend(first)
    assert refused.value.reason == "BUDGET_EXCEEDED"
    first.close()

    again = governance(settings)
    assert again.spent("openai") == pytest.approx(2.0)
    with pytest.raises(GateClosed) as after_restart:
        await spend(again)
    assert after_restart.value.reason == "BUDGET_EXCEEDED"
    assert "openai spent $2.0000 of its $1.5 budget this month (UTC) (VENOM_PROVIDER_BUDGETS_USD)" in str(
        after_restart.value)
    await spend(again, provider="ollama", model="llama3.2:1b")  # local runtimes are free and never refused
    assert again.history(1)[0].status == "ok"


async def test_the_total_budget_and_soft_budgets_after_a_restart(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(tmp_path, budget_usd=3, budget_soft_usd=1, provider_budgets_soft_usd="google=0.5")
    first = governance(settings)
    await spend(first, provider="google", model="gemini-2.0-flash", tokens=1_000_000)  # $0.5
    await spend(first, model="gpt-4o-mini")  # $2
    first.close()
    again = governance(settings)
    with caplog.at_level(logging.WARNING, logger="venom_mcp.services.governance"):
        await spend(again, provider="google", model="gemini-2.0-flash", tokens=1)
    assert "soft budget reached: google spent $0.5000 of $0.5 this month (UTC) (VENOM_PROVIDER_BUDGETS_SOFT_USD)" \
        in caplog.text
    assert "(VENOM_BUDGET_SOFT_USD)" in caplog.text
    await spend(again, model="gpt-4o", tokens=300)  # $0.6: now $3.1 in all
    with pytest.raises(GateClosed, match=r"spent of the \$3 budget this month \(UTC\) \(VENOM_BUDGET_USD\)"):
        await spend(again, provider="google", model="gemini-2.0-flash")


async def test_the_budget_period_decides_what_counts(tmp_path: Path) -> None:
    for period, refused in (("day", False), ("month", True), ("total", True)):
        home = tmp_path / period
        settings = settings_for(home, provider_budgets_usd="openai=1", budget_period=period)
        gov = governance(settings)
        gov.ledger.append(call(TODAY - timedelta(days=1), cost=5.0))  # yesterday, this month
        gov.ledger.append(call(TODAY.replace(month=1), cost=5.0))  # earlier this year
        if refused:
            with pytest.raises(GateClosed):
                await spend(gov)
        else:
            await spend(gov)
        expected = {"day": 0.0, "month": 5.0, "total": 10.0}[period]
        assert governance(settings).spent("openai") == pytest.approx(expected + (2.0 if not refused else 0.0))


async def test_per_model_metrics_survive_a_restart(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    gov = governance(settings)
    await spend(gov, model="gpt-4o-mini", tokens=10)
    await spend(gov, model="gpt-4o-mini", tokens=20)
    await spend(gov, model="gpt-4o", tokens=5)
    await spend(gov, model="gpt-4o", error=TimeoutError("slow"))
    await spend(gov, provider="ollama", model="llama3.2:1b")
    gov.close()
    for current in (gov, governance(settings)):
        rows = {row.provider: row for row in current.metrics()}
        openai = rows["openai"]
        assert (openai.requests, openai.errors, openai.prompt_tokens) == (4, 1, 35)
        assert openai.cost_usd == pytest.approx(0.6 + 0.01)
        models = {m.model: m for m in openai.models}
        assert list(models) == ["gpt-4o", "gpt-4o-mini"]
        assert (models["gpt-4o"].requests, models["gpt-4o"].errors, models["gpt-4o"].success_rate) == (2, 1, 0.5)
        assert models["gpt-4o-mini"].completion_tokens == 30 and models["gpt-4o-mini"].cost_usd == pytest.approx(0.6)
        assert models["gpt-4o-mini"].latency_ms_p50 is not None and models["gpt-4o-mini"].latency_ms_p95 is not None
        assert rows["ollama"].cost_usd == 0 and rows["ollama"].models[0].model == "llama3.2:1b"
        assert openai.health_score < rows["ollama"].health_score == 100


def test_a_torn_last_line_is_skipped_then_cut_off(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "ledger.jsonl"
    writer = Ledger(path, today=lambda: TODAY)
    writer.append(call(TODAY, cost=1.0))
    writer.append(call(TODAY, cost=2.0))
    with path.open("ab") as handle:
        handle.write(b'{"kind":"call","at":"2025-12-15T12:00:00+00:00","provider":"openai","mo')  # the crash
    reader = Ledger(path, today=lambda: TODAY)
    assert reader.tally.calls == 2 and reader.tally.spent("openai") == pytest.approx(3.0)
    with caplog.at_level(logging.WARNING):
        reader.append(call(TODAY, cost=4.0))
    assert "cut a torn last line" in caplog.text
    lines = path.read_bytes().splitlines(keepends=True)
    assert len(lines) == 3 and all(line.endswith(b"\n") for line in lines)
    assert [json.loads(line)["cost_usd"] for line in lines] == [1.0, 2.0, 4.0]
    assert Ledger(path).tally.spent("openai") == pytest.approx(7.0)


def test_an_unreadable_line_in_the_middle_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    Ledger(path).append(call(TODAY, cost=1.0))
    with path.open("ab") as handle:
        handle.write(b"not json at all\n" + b'{"kind":"from-the-future","x":1}\n' + b'{"kind":"call"}\n')
    ledger = Ledger(path)
    ledger.append(call(TODAY, cost=2.0))
    assert ledger.tally.calls == 2 and ledger.tally.spent() == pytest.approx(3.0)


def test_compaction_keeps_totals_and_bounds_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    ledger = Ledger(path, keep_calls=2, keep_days=30, today=lambda: TODAY)
    days = [TODAY - timedelta(days=d) for d in (90, 60, 40, 3, 3, 2, 1, 0, 0)]
    for index, day in enumerate(days):
        ledger.append(call(day, cost=float(index + 1), ok=index != 4, latency_ms=10.0 * (index + 1)))
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
    assert kinds.count("call") <= 3 and "day" in kinds and "before" in kinds
    before = [json.loads(line) for line in path.read_text().splitlines() if '"before"' in line]
    assert before == [{"kind": "before", "day": (TODAY - timedelta(days=30)).isoformat(), "provider": "openai",
                       "model": "gpt-4o-mini", "requests": 3, "errors": 0, "prompt_tokens": 30,
                       "completion_tokens": 60, "cost_usd": 6.0}]
    for current in (ledger, Ledger(path, keep_calls=2, keep_days=30, today=lambda: TODAY)):
        row = current.tally.metrics()[0]
        assert (row.requests, row.errors, row.prompt_tokens) == (9, 1, 90)
        assert row.cost_usd == pytest.approx(sum(range(1, 10)))
        assert current.tally.spent("openai", since=TODAY.isoformat()) == pytest.approx(8 + 9)
        assert current.tally.spent("openai", since=TODAY.replace(day=1).isoformat()) == pytest.approx(45 - 6)
    for _ in range(50):
        ledger.append(call(TODAY))
    assert len(path.read_text().splitlines()) <= 1 + 5 + 3  # before + days + the newest calls


def test_other_processes_spend_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    one, two = Ledger(path, keep_calls=2), Ledger(path, keep_calls=2)
    one.append(call(TODAY, cost=1.0))
    two.refresh()
    assert two.tally.spent() == pytest.approx(1.0)
    for _ in range(4):
        two.append(call(TODAY, cost=1.0))  # two compacts: the file is replaced
    one.refresh()
    assert one.tally.spent() == pytest.approx(5.0) and one.tally.metrics()[0].requests == 5
    path.unlink()  # deleting the ledger starts the spend over
    one.refresh()
    assert one.tally.spent() == 0


async def test_a_successful_call_is_logged_with_secrets_masked(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(tmp_path, google_api_key="AIza-secret-value-123")
    gov = governance(settings)
    with caplog.at_level(logging.INFO, logger="venom_mcp.services.governance"):
        record = await gov.admit("google", "gemini-2.0-flash", "https://g.example/v1?key=AIza-secret-value-123", 10)
        gov.finish(record, prompt_tokens=7, completion_tokens=9)
        failed = await gov.admit("google", "gemini-2.0-flash", "https://g.example/v1", 10)
        gov.finish(failed, error=TimeoutError("slow"))
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(lines) == 1
    assert lines[0].startswith("model call ok: provider=google model=gemini-2.0-flash endpoint=https://g.example/v1?key=***")
    assert "latency_ms=" in lines[0] and "prompt_tokens=7 completion_tokens=9" in lines[0]
    assert "AIza-secret-value-123" not in caplog.text
    stored = (tmp_path / "ledger.jsonl").read_text()
    assert "AIza-secret-value-123" not in stored and "g.example" not in stored


def test_a_bad_budget_setting_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="VENOM_PROVIDER_BUDGETS_SOFT_USD: openai='five'"):
        governance(settings_for(tmp_path, provider_budgets_soft_usd="openai=five"))
