"""The gate every language-model call passes: rate limits, cost budgets, reason codes, request history,
per-provider metrics, and masking of secrets in anything that leaves the process."""

from __future__ import annotations

import asyncio
import logging
import re
import statistics
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..config import Settings
from ..errors import StateError, UpstreamError
from ..observability import request_id
from ..records import ProviderMetrics, ReasonCode, RequestRecord
from ..store import atomic_write_json, read_json

log = logging.getLogger(__name__)

HISTORY = 500
LATENCY_WINDOW = 1000
LOCAL_RUNTIMES = {"ollama", "vllm", "llamacpp"}
# USD per 1k tokens (input, output) for common cloud models; VENOM_PRICES_PER_1K overrides or adds.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.00015, 0.0006), "gpt-4o": (0.0025, 0.01), "gpt-4.1-mini": (0.0004, 0.0016),
    "gpt-4.1": (0.002, 0.008), "gemini-2.0-flash": (0.0001, 0.0004), "gemini-1.5-flash": (0.000075, 0.0003),
    "gemini-2.5-flash": (0.0003, 0.0025), "gemini-2.5-pro": (0.00125, 0.01),
}
_KEY_IN_URL = re.compile(r"([?&](?:key|api_key|apikey|token|access_token)=)[^&\s\"']+", re.IGNORECASE)


class GateClosed(UpstreamError):
    """A request refused before it was sent: rate limit or budget."""

    def __init__(self, reason: ReasonCode, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def mask(text: str, secrets: list[str]) -> str:
    """Hide API keys and tokens: the configured values anywhere, and any key=... in a URL."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return _KEY_IN_URL.sub(r"\1***", text)


def classify(exc: BaseException) -> ReasonCode:
    """The reason code of a failed call, from the exception the SDKs and our adapters raise."""
    if isinstance(exc, GateClosed):
        return exc.reason
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    if status in (401, 403) or "Authentication" in name or "PermissionDenied" in name:
        return "AUTH_ERROR"
    if status == 404 or "NotFound" in name:
        return "MODEL_NOT_FOUND"
    if status == 429 or "RateLimit" in name:
        return "RATE_LIMITED"
    if isinstance(exc, TimeoutError) or "Timeout" in name:
        return "TIMEOUT"
    return "PROVIDER_DOWN"


def _pairs(spec: str) -> dict[str, str]:
    pairs = {}
    for item in spec.split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            pairs[key.strip().lower()] = value.strip()
    return pairs


@dataclass
class _Provider:
    requests: deque[float] = field(default_factory=deque)
    tokens: deque[tuple[float, int]] = field(default_factory=deque)
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))
    count: int = 0
    errors: int = 0
    recent_errors: deque[bool] = field(default_factory=lambda: deque(maxlen=50))
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0


class Governance:
    def __init__(self, settings: Settings, history_path: Path, clock: Any = time.monotonic) -> None:
        self._settings = settings
        self._path = history_path
        self._clock = clock
        self._providers: dict[str, _Provider] = {}
        self._history: deque[RequestRecord] = deque(maxlen=HISTORY)
        self._lock = asyncio.Lock()
        self._last_persist = 0.0
        self._dirty = False
        self._limits = {k: v.split("/") for k, v in _pairs(settings.rate_limits).items()}
        self._budgets = {k: float(v) for k, v in _pairs(settings.provider_budgets_usd).items()}
        self._prices = dict(DEFAULT_PRICES)
        for model, value in _pairs(settings.prices_per_1k).items():
            cost_in, _, cost_out = value.partition("/")
            self._prices[model] = (float(cost_in), float(cost_out or cost_in))
        self._load()

    def mask(self, text: str) -> str:
        return mask(text, self._settings.secrets())

    def _provider(self, name: str) -> _Provider:
        return self._providers.setdefault(name, _Provider())

    def spent(self, provider: str | None = None) -> float:
        if provider is not None:
            return self._provider(provider).cost
        return sum(p.cost for p in self._providers.values())

    def price(self, provider: str, model: str) -> tuple[float, float]:
        if provider in LOCAL_RUNTIMES:
            return 0.0, 0.0
        return self._prices.get(model.lower().removeprefix("models/"), (0.0, 0.0))

    async def admit(self, provider: str, model: str, endpoint: str, estimated_tokens: int) -> RequestRecord:
        """Check limits and budgets, then record the request as in progress. Raises GateClosed."""
        async with self._lock:  # the check and the count are one step, however many calls race
            state = self._provider(provider)
            now = self._clock()
            while state.requests and now - state.requests[0] > 60:
                state.requests.popleft()
            while state.tokens and now - state.tokens[0][0] > 60:
                state.tokens.popleft()
            limit = self._limits.get(provider)
            if limit:
                rpm = int(limit[0]) if limit[0] else 0
                tpm = int(limit[1]) if len(limit) > 1 and limit[1] else 0
                if rpm and len(state.requests) >= rpm:
                    raise self._refuse(provider, model, endpoint, "RATE_LIMITED",
                                       f"{provider} is at its limit of {rpm} requests a minute (VENOM_RATE_LIMITS)")
                if tpm and sum(t for _, t in state.tokens) + estimated_tokens > tpm:
                    raise self._refuse(provider, model, endpoint, "RATE_LIMITED",
                                       f"{provider} is at its limit of {tpm} tokens a minute (VENOM_RATE_LIMITS)")
            if provider not in LOCAL_RUNTIMES:
                budget = self._budgets.get(provider)
                if budget is not None and state.cost >= budget:
                    raise self._refuse(provider, model, endpoint, "BUDGET_EXCEEDED",
                                       f"{provider} spent ${state.cost:.4f} of its ${budget:g} budget "
                                       "(VENOM_PROVIDER_BUDGETS_USD)")
                total = self._settings.budget_usd
                if total is not None and self.spent() >= total:
                    raise self._refuse(provider, model, endpoint, "BUDGET_EXCEEDED",
                                       f"${self.spent():.4f} spent of the ${total:g} budget (VENOM_BUDGET_USD)")
                soft = self._settings.budget_soft_usd
                if soft is not None and self.spent() >= soft:
                    log.warning("soft budget reached: $%.4f spent of $%g (VENOM_BUDGET_SOFT_USD)", self.spent(), soft)
            state.requests.append(now)
            state.tokens.append((now, estimated_tokens))
            record = RequestRecord(request_id=uuid.uuid4().hex, llm_provider=provider, llm_model=model,
                                   llm_endpoint=endpoint, started_at=datetime.now(UTC))
            self._history.append(record)
            request_id.set(record.request_id)  # log lines of this attempt carry its id
            return record

    def _refuse(self, provider: str, model: str, endpoint: str, reason: ReasonCode, message: str) -> GateClosed:
        now = datetime.now(UTC)
        self._history.append(RequestRecord(
            request_id=uuid.uuid4().hex, llm_provider=provider, llm_model=model, llm_endpoint=endpoint,
            started_at=now, finished_at=now, duration_seconds=0.0, status="error", error=message, reason=reason,
        ))
        self._persist(force=False)
        return GateClosed(reason, message)

    def finish(self, record: RequestRecord, *, error: BaseException | None = None, prompt_tokens: int | None = None,
               completion_tokens: int | None = None) -> RequestRecord:
        finished = datetime.now(UTC)
        record.finished_at = finished
        record.duration_seconds = round((finished - record.started_at).total_seconds(), 4)
        state = self._provider(record.llm_provider)
        state.count += 1
        state.latencies.append(record.duration_seconds * 1000)
        state.recent_errors.append(error is not None)
        if error is not None:
            state.errors += 1
            record.status, record.reason = "error", classify(error)
            record.error = self.mask(f"{record.reason}: {type(error).__name__}: {error}")[:500]
        else:
            record.status = "ok"
            record.prompt_tokens, record.completion_tokens = prompt_tokens, completion_tokens
            cost_in, cost_out = self.price(record.llm_provider, record.llm_model)
            record.cost_usd = round(((prompt_tokens or 0) * cost_in + (completion_tokens or 0) * cost_out) / 1000, 8)
            state.cost += record.cost_usd
            state.prompt_tokens += prompt_tokens or 0
            state.completion_tokens += completion_tokens or 0
        self._persist(force=False)
        return record

    def history(self, limit: int) -> list[RequestRecord]:
        return list(reversed(self._history))[:limit]

    def metrics(self) -> list[ProviderMetrics]:
        rows = []
        for name, state in sorted(self._providers.items()):
            if not state.count and not state.errors:
                continue
            latencies = sorted(state.latencies)
            success = (state.count - state.errors) / state.count if state.count else 1.0
            p = _percentiles(latencies)
            recent = sum(state.recent_errors) / len(state.recent_errors) if state.recent_errors else 0.0
            # Errors weigh most; a p95 over 10 s costs up to a further half.
            slow = min(1.0, (p[1] or 0) / 10_000)
            health = round(100 * (1 - recent) * (1 - 0.5 * slow), 1)
            rows.append(ProviderMetrics(
                provider=name, requests=state.count, errors=state.errors, success_rate=round(success, 4),
                latency_ms_p50=p[0], latency_ms_p95=p[1], latency_ms_p99=p[2], prompt_tokens=state.prompt_tokens,
                completion_tokens=state.completion_tokens, cost_usd=round(state.cost, 6), health_score=health,
            ))
        return rows

    def flush(self) -> None:
        """Write what is not written yet (at shutdown); during work the history is written at most once a second."""
        if self._dirty:
            self._persist(force=True)

    def _persist(self, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last_persist < 1.0:
            self._dirty = True
            return
        self._dirty = False
        self._last_persist = now
        try:
            atomic_write_json(self._path, {"requests": [r.model_dump(mode="json") for r in self._history],
                                           "updated_at": datetime.now(UTC)})
        except OSError as exc:
            log.warning("could not write %s: %s", self._path, exc)

    def _load(self) -> None:
        try:
            raw = read_json(self._path)
        except StateError as exc:
            log.error("%s; starting a new request history", exc)
            return
        items = raw.get("requests", []) if isinstance(raw, dict) else raw if isinstance(raw, list) else []
        for item in items:
            try:  # older records lack fields or name them differently: keep what can be read
                record = RequestRecord.model_validate({**item, "llm_endpoint": item.get("llm_endpoint") or ""})
            except (ValidationError, TypeError):
                continue
            if record.status == "in_progress":
                record.status, record.error = "error", "interrupted: venom-mcp stopped during the request"
            self._history.append(record)


def _percentiles(values: list[float]) -> tuple[float | None, float | None, float | None]:
    if not values:
        return None, None, None
    if len(values) == 1:
        return (round(values[0], 1),) * 3
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return round(cuts[49], 1), round(cuts[94], 1), round(cuts[98], 1)
