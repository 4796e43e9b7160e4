"""What the machine and the providers are doing: resources, metrics, history, alerts."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..records import (
    AlertList,
    ProviderMetricsList,
    RequestHistory,
    Usage,
)
from .meta import ToolBase, tool


class ObserveTools(ToolBase):
    @tool("Resource usage", read_only=True)
    async def resource_usage(self) -> Usage:
        """CPU, memory, disk used by installed models against MODELS_MAX_DISK_GB, and GPU load and VRAM
        (null where there is no NVIDIA GPU)."""
        readings = await self.app.runtimes.usage()
        registry = self.app.registry
        total, used, percent = readings["memory"]
        gpu = readings["gpu"]
        disk = max(registry.disk_usage_gb(), round(readings["cache_bytes"] / 1e9, 3))
        limit = self.app.settings.models_max_disk_gb
        return Usage(
            disk_usage_gb=disk, disk_limit_gb=limit, disk_usage_percent=round(100 * disk / limit, 2),
            cpu_usage_percent=readings["cpu"], memory_total_gb=total, memory_used_gb=used,
            memory_usage_percent=percent,
            gpu_usage_percent=gpu.utilization_percent if gpu else None,
            vram_usage_mb=gpu.vram_used_mb if gpu else None, vram_total_mb=gpu.vram_total_mb if gpu else None,
            vram_usage_percent=round(100 * gpu.vram_used_mb / gpu.vram_total_mb, 2) if gpu and gpu.vram_total_mb
            else None,
            models_count=len(registry.manifest()),
        )

    @tool("Provider metrics", read_only=True)
    async def provider_metrics(self) -> ProviderMetricsList:
        """Per provider: requests, errors, success rate, latency p50/p95/p99, tokens, cost in USD and a health
        score (0..100) that falls when errors or latency rise; `models` gives the same per model. Counts and cost
        come from the spend ledger ($VENOM_HOME/ledger.jsonl), so they survive restarts; latencies are recent."""
        return ProviderMetricsList(providers=self.app.governance.metrics())

    @tool("Request history", read_only=True)
    async def request_history(
        self, limit: Annotated[int, Field(strict=True, ge=1, le=500, description="How many, newest first.")] = 20
    ) -> RequestHistory:
        """Every language-model request, newest first: provider, model, endpoint, start and finish (null while it
        runs), duration, status and error with its reason code (RATE_LIMITED, BUDGET_EXCEEDED, AUTH_ERROR, TIMEOUT,
        PROVIDER_DOWN, MODEL_NOT_FOUND)."""
        requests = self.app.governance.history(limit)
        return RequestHistory(requests=requests, count=len(requests))

    @tool("Alerts", read_only=True)
    async def alerts(
        self, limit: Annotated[int, Field(strict=True, ge=1, le=200, description="How many of each list, newest "
                                                                                 "first.")] = 20
    ) -> AlertList:
        """Alerts in force and the latest ones: RAM, VRAM, the disk quota of installed models, the active local
        runtime offline or degraded, a failed model call (naming provider, model and endpoint) and a provider's
        error rate. Raised at VENOM_ALERT_RAM_PERCENT / VENOM_ALERT_VRAM_PERCENT / VENOM_ALERT_DISK_PERCENT /
        VENOM_ALERT_ERROR_RATE_PERCENT, cleared only 5 points below; a failed call's alert clears when that model
        answers again. Connected clients also get each one as a log notification (warning raised, info cleared)."""
        return self.app.alerts.report(limit)
