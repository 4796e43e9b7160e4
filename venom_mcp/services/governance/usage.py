"""The usage the ledger adds up: per provider and model counts, tokens and cost, spend per day, recent latencies
and errors; and the provider_metrics rows built from them."""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ...records import ModelMetrics, ProviderMetrics

LATENCY_WINDOW = 1000  # latencies kept per provider and per model for the percentiles
HEALTH_WINDOW = 50  # the calls the health score looks at


@dataclass
class Counts:
    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, other: Counts) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost_usd += other.cost_usd


@dataclass(frozen=True)
class Call:
    """One finished model call, as the ledger keeps it (no prompt, no answer, no endpoint: nothing secret)."""

    at: datetime
    provider: str
    model: str
    ok: bool
    reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0

    @property
    def day(self) -> str:
        return self.at.astimezone(UTC).date().isoformat()

    def counts(self) -> Counts:
        return Counts(1, 0 if self.ok else 1, self.prompt_tokens, self.completion_tokens, self.cost_usd)


@dataclass(frozen=True)
class Total:
    """Calls compacted into one line: those of one day (`kind="day"`), or all those before `day` (`"before"`)."""

    kind: str
    day: str
    provider: str
    model: str
    counts: Counts


@dataclass
class Tally:
    models: dict[tuple[str, str], Counts] = field(default_factory=dict)
    daily_cost: dict[str, dict[str, float]] = field(default_factory=dict)  # provider -> day ("" = older) -> USD
    latencies: dict[tuple[str, str], deque[float]] = field(default_factory=dict)  # (provider, model ""=all)
    recent: dict[str, deque[bool]] = field(default_factory=dict)  # provider -> failed?, newest last
    calls: int = 0  # uncompacted calls read

    def add_call(self, call: Call) -> None:
        self.calls += 1
        self._count(call.provider, call.model, call.day, call.counts())
        for key in ((call.provider, ""), (call.provider, call.model)):
            self.latencies.setdefault(key, deque(maxlen=LATENCY_WINDOW)).append(call.latency_ms)
        self.recent.setdefault(call.provider, deque(maxlen=HEALTH_WINDOW)).append(not call.ok)

    def add_total(self, total: Total) -> None:
        self._count(total.provider, total.model, total.day if total.kind == "day" else "", total.counts)

    def _count(self, provider: str, model: str, day: str, counts: Counts) -> None:
        self.models.setdefault((provider, model), Counts()).add(counts)
        days = self.daily_cost.setdefault(provider, {})
        days[day] = days.get(day, 0.0) + counts.cost_usd

    def spent(self, provider: str | None = None, since: str | None = None) -> float:
        """USD spent by one provider (or all), on days from `since` (ISO) on, or ever when `since` is None."""
        providers = [provider] if provider is not None else list(self.daily_cost)
        return sum(cost for p in providers for day, cost in self.daily_cost.get(p, {}).items()
                   if since is None or day >= since)

    def metrics(self) -> list[ProviderMetrics]:
        rows = []
        for provider in sorted({p for p, _ in self.models}):
            models = sorted((m, c) for (p, m), c in self.models.items() if p == provider and c.requests)
            if not models:
                continue
            total = Counts()
            for _, counts in models:
                total.add(counts)
            p50, p95, p99 = _percentiles(sorted(self.latencies.get((provider, ""), ())))
            recent = self.recent.get(provider)
            failing = sum(recent) / len(recent) if recent else total.errors / total.requests
            # Errors weigh most; a p95 over 10 s costs up to a further half.
            slow = min(1.0, (p95 or 0) / 10_000)
            rows.append(ProviderMetrics(
                provider=provider, requests=total.requests, errors=total.errors,
                success_rate=round((total.requests - total.errors) / total.requests, 4),
                latency_ms_p50=p50, latency_ms_p95=p95, latency_ms_p99=p99, prompt_tokens=total.prompt_tokens,
                completion_tokens=total.completion_tokens, cost_usd=round(total.cost_usd, 6),
                health_score=round(100 * (1 - failing) * (1 - 0.5 * slow), 1),
                models=[self._model_row(provider, model, counts) for model, counts in models],
            ))
        return rows

    def _model_row(self, provider: str, model: str, counts: Counts) -> ModelMetrics:
        p50, p95, _ = _percentiles(sorted(self.latencies.get((provider, model), ())))
        return ModelMetrics(
            model=model, requests=counts.requests, errors=counts.errors,
            success_rate=round((counts.requests - counts.errors) / counts.requests, 4),
            prompt_tokens=counts.prompt_tokens, completion_tokens=counts.completion_tokens,
            cost_usd=round(counts.cost_usd, 6), latency_ms_p50=p50, latency_ms_p95=p95,
        )


def _percentiles(values: list[float]) -> tuple[float | None, float | None, float | None]:
    if not values:
        return None, None, None
    if len(values) == 1:
        return (round(values[0], 1),) * 3
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return round(cuts[49], 1), round(cuts[94], 1), round(cuts[98], 1)
