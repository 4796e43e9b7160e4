"""Alerts, request history and provider metrics (SPEC section 4)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .vocabulary import Record, Timestamp

AlertKind = Literal["ram", "vram", "disk", "runtime", "llm_error", "llm_error_rate"]


class Alert(Record):
    """A watched condition over its threshold (services/alerts): raised at the threshold, cleared only below it minus
    a margin. `llm_*` name the provider (or local runtime), model and endpoint where one is concerned."""

    alert_id: str
    kind: AlertKind
    level: Literal["warning", "critical"]
    message: str
    value: float | None = Field(default=None, description="The latest reading: percent used (ram, vram, disk), "
                                "percent of calls failed (llm_error_rate), failures in a row (llm_error).")
    threshold: float | None = None
    llm_provider: str | None = None
    llm_model: str | None = None
    llm_endpoint: str | None = None
    raised_at: Timestamp
    cleared_at: Timestamp | None = None


class AlertList(Record):
    active: list[Alert] = Field(description="The alerts in force, newest first.")
    recent: list[Alert] = Field(description="The latest alerts, in force or cleared, newest first.")
    count: int = Field(description="How many alerts are in force.")


# ---- governance and translation (SPEC section 4) ---------------------------------------------------

ReasonCode = Literal["RATE_LIMITED", "BUDGET_EXCEEDED", "AUTH_ERROR", "TIMEOUT", "PROVIDER_DOWN", "MODEL_NOT_FOUND"]


class RequestRecord(Record):
    request_id: str
    llm_provider: str
    llm_model: str
    llm_endpoint: str
    started_at: Timestamp
    finished_at: Timestamp | None = None
    duration_seconds: float | None = None
    status: Literal["in_progress", "ok", "error"] = "in_progress"
    error: str | None = None
    reason: ReasonCode | None = None
    fallback_from: str | None = Field(default=None, description="The runtime this call stood in for: asked first, it "
                                      "failed or was refused (VENOM_FALLBACK_ORDER); null for a first choice.")
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float = 0.0


class RequestHistory(Record):
    requests: list[RequestRecord]
    count: int


class ModelMetrics(Record):
    model: str
    requests: int
    errors: int
    success_rate: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float
    latency_ms_p50: float | None
    latency_ms_p95: float | None


class ProviderMetrics(Record):
    provider: str
    requests: int
    errors: int
    success_rate: float
    latency_ms_p50: float | None
    latency_ms_p95: float | None
    latency_ms_p99: float | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float
    health_score: float = Field(description="0..100: falls as errors and latency rise.")
    models: list[ModelMetrics] = Field(default_factory=list, description="The same, per model of this provider.")


class ProviderMetricsList(Record):
    providers: list[ProviderMetrics]
