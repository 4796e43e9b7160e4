"""The gate itself: admit (rate limits, budgets) and finish (history, ledger, the log line) of every model call."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ...adapters.runtimes import CLUSTER_RUNTIMES as _CLUSTER
from ...adapters.runtimes import LOCAL_RUNTIMES as _LOCAL
from ...config import Settings
from ...history_file import HistoryFile
from ...observability import request_id
from ...records import ProviderMetrics, ReasonCode, RequestRecord
from .budgets import Budgets, pairs
from .ledger import Ledger
from .reasons import GateClosed, classify, mask
from .usage import Call

log = logging.getLogger("venom_mcp.services.governance")

HISTORY = 500
LOCAL_RUNTIMES = set(_LOCAL) | set(_CLUSTER)  # the user's own machines: no price, no budget
# USD per 1k tokens (input, output) for common cloud models; VENOM_PRICES_PER_1K overrides or adds.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.00015, 0.0006), "gpt-4o": (0.0025, 0.01), "gpt-4.1-mini": (0.0004, 0.0016),
    "gpt-4.1": (0.002, 0.008), "gemini-2.0-flash": (0.0001, 0.0004), "gemini-1.5-flash": (0.000075, 0.0003),
    "gemini-2.5-flash": (0.0003, 0.0025), "gemini-2.5-pro": (0.00125, 0.01),
}


@dataclass
class _Window:
    """The last minute of one provider's requests and tokens, for VENOM_RATE_LIMITS (not persisted)."""

    requests: deque[float] = field(default_factory=deque)
    tokens: deque[tuple[float, int]] = field(default_factory=deque)


class Governance:
    def __init__(self, settings: Settings, history_path: Path, clock: Any = time.monotonic, *,
                 ledger: Ledger | None = None) -> None:
        self._settings = settings
        self._file = HistoryFile(history_path, "requests", lambda: list(self._history))
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._history: deque[RequestRecord] = deque(maxlen=HISTORY)
        self._lock = asyncio.Lock()
        self._limits = {k: v.split("/") for k, v in pairs(settings.rate_limits).items()}
        self._budgets = Budgets(settings)
        self._prices = dict(DEFAULT_PRICES)
        for model, value in pairs(settings.prices_per_1k).items():
            cost_in, _, cost_out = value.partition("/")
            self._prices[model] = (float(cost_in), float(cost_out or cost_in))
        self.ledger = ledger if ledger is not None else Ledger(history_path.with_name("ledger.jsonl"))
        # Told of every finished call (the alerts' hook); one that fails is logged and costs nothing else.
        self.listeners: list[Callable[[RequestRecord], None]] = []
        self._load()

    def mask(self, text: str) -> str:
        return mask(text, self._settings.secrets())

    def spent(self, provider: str | None = None) -> float:
        """USD spent in the budget period (VENOM_BUDGET_PERIOD) by one provider, or by all."""
        return self.ledger.tally.spent(provider, self._budgets.since(self.ledger.today()))

    def price(self, provider: str, model: str) -> tuple[float, float]:
        if provider in LOCAL_RUNTIMES:
            return 0.0, 0.0
        return self._prices.get(model.lower().removeprefix("models/"), (0.0, 0.0))

    async def admit(self, provider: str, model: str, endpoint: str, estimated_tokens: int,
                    fallback_from: str | None = None) -> RequestRecord:
        """Check limits and budgets, then record the request as in progress (`fallback_from`: the runtime it stands
        in for). Raises GateClosed."""
        async with self._lock:  # the check and the count are one step, however many calls race
            window = self._windows.setdefault(provider, _Window())
            now = self._clock()
            while window.requests and now - window.requests[0] > 60:
                window.requests.popleft()
            while window.tokens and now - window.tokens[0][0] > 60:
                window.tokens.popleft()
            limit = self._limits.get(provider)
            if limit:
                rpm = int(limit[0]) if limit[0] else 0
                tpm = int(limit[1]) if len(limit) > 1 and limit[1] else 0
                if rpm and len(window.requests) >= rpm:
                    raise self._refuse(provider, model, endpoint, fallback_from, "RATE_LIMITED",
                                       f"{provider} is at its limit of {rpm} requests a minute (VENOM_RATE_LIMITS)")
                if tpm and sum(t for _, t in window.tokens) + estimated_tokens > tpm:
                    raise self._refuse(provider, model, endpoint, fallback_from, "RATE_LIMITED",
                                       f"{provider} is at its limit of {tpm} tokens a minute (VENOM_RATE_LIMITS)")
            if provider not in LOCAL_RUNTIMES and self._budgets.any:
                self.ledger.refresh()  # what other venom-mcp processes on this home spent meanwhile
                refusal, warnings = self._budgets.check(provider, self.spent)
                if refusal is not None:
                    raise self._refuse(provider, model, endpoint, fallback_from, "BUDGET_EXCEEDED", refusal)
                for warning in warnings:
                    log.warning("%s", warning)
            window.requests.append(now)
            window.tokens.append((now, estimated_tokens))
            record = RequestRecord(request_id=uuid.uuid4().hex, llm_provider=provider, llm_model=model,
                                   llm_endpoint=endpoint, started_at=datetime.now(UTC), fallback_from=fallback_from)
            self._history.append(record)
            request_id.set(record.request_id)  # log lines of this attempt carry its id
            return record

    def _refuse(self, provider: str, model: str, endpoint: str, fallback_from: str | None, reason: ReasonCode,
                message: str) -> GateClosed:
        now = datetime.now(UTC)
        self._history.append(RequestRecord(
            request_id=uuid.uuid4().hex, llm_provider=provider, llm_model=model, llm_endpoint=endpoint,
            started_at=now, finished_at=now, duration_seconds=0.0, status="error", error=message, reason=reason,
            fallback_from=fallback_from,
        ))
        self._file.changed()
        return GateClosed(reason, message)

    def finish(self, record: RequestRecord, *, error: BaseException | None = None, prompt_tokens: int | None = None,
               completion_tokens: int | None = None) -> RequestRecord:
        """Close the record, append the call to the spend ledger and log a successful one (INFO)."""
        finished = datetime.now(UTC)
        record.finished_at = finished
        record.duration_seconds = round((finished - record.started_at).total_seconds(), 4)
        if error is not None:
            record.status, record.reason = "error", classify(error)
            record.error = self.mask(f"{record.reason}: {type(error).__name__}: {error}")[:500]
        else:
            record.status = "ok"
            record.prompt_tokens, record.completion_tokens = prompt_tokens, completion_tokens
            cost_in, cost_out = self.price(record.llm_provider, record.llm_model)
            record.cost_usd = round(((prompt_tokens or 0) * cost_in + (completion_tokens or 0) * cost_out) / 1000, 8)
        latency_ms = record.duration_seconds * 1000
        self.ledger.append(Call(
            at=finished, provider=record.llm_provider, model=record.llm_model, ok=error is None, reason=record.reason,
            prompt_tokens=record.prompt_tokens or 0, completion_tokens=record.completion_tokens or 0,
            cost_usd=record.cost_usd, latency_ms=latency_ms))
        if error is None:
            log.info("%s", self.mask(
                f"model call ok: provider={record.llm_provider} model={record.llm_model} "
                f"endpoint={record.llm_endpoint} latency_ms={latency_ms:.1f} prompt_tokens={prompt_tokens} "
                f"completion_tokens={completion_tokens} cost_usd={record.cost_usd:.6f}"))
        self._file.changed()
        for listener in self.listeners:
            try:
                listener(record)
            except Exception:
                log.exception("a listener of finished model calls failed")
        return record

    def history(self, limit: int) -> list[RequestRecord]:
        return list(reversed(self._history))[:limit]

    def metrics(self) -> list[ProviderMetrics]:
        """Per provider and per model, over the ledger: counts survive restarts; latencies are the recent calls'."""
        self.ledger.refresh()
        return self.ledger.tally.metrics()

    def flush(self) -> None:
        """Write what is not written yet (at shutdown); during work the history is written at most once a second
        (history_file.py). The ledger needs nothing: each call is on disk when finish returns."""
        self._file.flush()

    close = flush

    def _load(self) -> None:
        for item in self._file.read():
            try:  # older records lack fields or name them differently: keep what can be read
                record = RequestRecord.model_validate({**item, "llm_endpoint": item.get("llm_endpoint") or ""})
            except (ValidationError, TypeError):
                continue
            if record.status == "in_progress":
                record.status, record.error = "error", "interrupted: venom-mcp stopped during the request"
            self._history.append(record)
