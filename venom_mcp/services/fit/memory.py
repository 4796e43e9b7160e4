"""Free memory at the time of a fit check: RAM from psutil (`available`), VRAM from NVML (total minus used, summed
over the NVIDIA GPUs). A machine without an NVIDIA driver has no VRAM reading (None), never zero."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ...adapters import system


@dataclass(frozen=True)
class Memory:
    ram_free: int  # bytes
    vram_free: int | None = None  # bytes over all GPUs; None: no NVIDIA GPU
    vram_total: int | None = None
    gpus: int = 0


MemoryProbe = Callable[[], Awaitable[Memory]]


def _read() -> Memory:
    import psutil

    ram = int(psutil.virtual_memory().available)
    gpu = system.NVML.read()
    if gpu is None or not gpu.vram_total_mb:
        return Memory(ram_free=ram)
    total = int(gpu.vram_total_mb * 2**20)
    used = int(gpu.vram_used_mb * 2**20)
    return Memory(ram_free=ram, vram_free=max(total - used, 0), vram_total=total, gpus=_gpu_count())


def _gpu_count() -> int:
    try:
        import pynvml

        return int(pynvml.nvmlDeviceGetCount())
    except Exception:  # NVML answered a reading a moment ago; a count failing now only costs the note
        return 1


async def probe_memory() -> Memory:
    """psutil and NVML, off the event loop."""
    return await asyncio.to_thread(_read)
