"""What the alert watcher reads, as injectable probes: the machine's (psutil, NVML, the registry's disk use, the
active runtime's health) by default; tests pass their own."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...adapters import system
from ...config import Settings
from ...records import ActiveRuntime

if TYPE_CHECKING:
    from ..registry import ModelRegistry
    from ..runtimes import RuntimeController

Percent = Callable[[], Awaitable[float | None]]
DiskUse = Callable[[], Awaitable[tuple[float, float] | None]]
RuntimeHealth = Callable[[], Awaitable[ActiveRuntime | None]]


@dataclass(frozen=True)
class Probes:
    """Each probe is awaited once a round; a probe left None, or a reading of None, skips that check."""

    memory: Percent | None = None  # RAM in use, percent
    vram: Percent | None = None  # VRAM in use over the NVIDIA GPUs, percent; None without a GPU
    disk: DiskUse | None = None  # (GB the installed models take, MODELS_MAX_DISK_GB)
    runtime: RuntimeHealth | None = None  # the active local runtime with its health now; None when there is none

    def but(self, other: Probes | None) -> Probes:
        """These probes with those that `other` sets instead."""
        if other is None:
            return self
        return dataclasses.replace(self, **{f.name: getattr(other, f.name) for f in dataclasses.fields(other)
                                            if getattr(other, f.name) is not None})


def machine_probes(settings: Settings, registry: Callable[[], ModelRegistry],
                   runtimes: Callable[[], RuntimeController]) -> Probes:
    """This machine's readings. The services are asked for when a probe runs, so building the probes builds none."""

    async def memory() -> float | None:
        return (await asyncio.to_thread(system.memory))[2]

    async def vram() -> float | None:
        gpu = await asyncio.to_thread(system.NVML.read)
        if gpu is None or not gpu.vram_total_mb:
            return None
        return round(100 * gpu.vram_used_mb / gpu.vram_total_mb, 2)

    async def disk() -> tuple[float, float] | None:
        return await asyncio.to_thread(registry().disk_usage_gb), settings.models_max_disk_gb

    async def runtime() -> ActiveRuntime | None:
        from ...adapters import runtimes as table  # with the first round, not with the server's start

        controller = runtimes()
        name, _ = controller.state.active()
        if not name or name not in table.RUNTIMES or not table.spec(name).local:
            return None  # no active runtime, or a cloud one (its failures show as llm_error)
        return await controller.active()

    return Probes(memory=memory, vram=vram, disk=disk, runtime=runtime)
