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
        """CPU, memory, disk used by models against MODELS_MAX_DISK_GB, GPU load and VRAM (null without a GPU)."""
        readings = await self.app.runtimes.usage()
        registry = self.app.registry
        total, used, percent = readings["memory"]
        gpu = readings["gpu"]
        disk = max(registry.disk_usage_gb(), round(readings["cache_bytes"] / 1e9, 3))
        limit = self.app.settings.models_max_disk_gb
        return Usage(
            disk_usage_gb=disk, disk_limit_gb=limit, disk_usage_percent=round(100 * disk / limit, 2),
            disk_free_gb=round(readings["disk_free"] / 1e9, 2) if readings["disk_free"] is not None else None,
            cpu_usage_percent=readings["cpu"], memory_total_gb=total, memory_used_gb=used,
            memory_usage_percent=percent,
            gpu_usage_percent=gpu.utilization_percent if gpu else None,
            vram_usage_mb=gpu.vram_used_mb if gpu else None, vram_total_mb=gpu.vram_total_mb if gpu else None,
            vram_usage_percent=round(100 * gpu.vram_used_mb / gpu.vram_total_mb, 2) if gpu and gpu.vram_total_mb
            else None,
            models_count=len(registry.manifest()),
            cluster_nodes=readings.get("cluster_nodes"),
        )

    @tool("Provider metrics", read_only=True)
    async def provider_metrics(self) -> ProviderMetricsList:
        """Per provider and model: requests, errors, latency percentiles, tokens, cost in USD and a 0..100
        health score."""
        return ProviderMetricsList(providers=self.app.governance.metrics())

    @tool("Request history", read_only=True)
    async def request_history(
        self, limit: Annotated[int, Field(strict=True, ge=1, le=500)] = 20
    ) -> RequestHistory:
        """Model requests, newest first: provider, model, endpoint, times, status, error and its reason code."""
        requests = self.app.governance.history(limit)
        return RequestHistory(requests=requests, count=len(requests))

    @tool("Alerts", read_only=True)
    async def alerts(
        self, limit: Annotated[int, Field(strict=True, ge=1, le=200)] = 20
    ) -> AlertList:
        """Alerts in force and recent: RAM, VRAM, disk quota, a runtime down, failed model calls, provider error
        rates (each also sent as a log notification)."""
        return self.app.alerts.report(limit)
