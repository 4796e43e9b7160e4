"""Machine readings: psutil for CPU, memory, disk, process trees and who listens on a port (and stopping one
process); NVML (nvidia-ml-py) for GPU load and VRAM."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GpuReading:
    utilization_percent: float
    vram_used_mb: float
    vram_total_mb: float


class _Nvml:
    """NVML initialised once; a machine without an NVIDIA driver gives None without a warning per call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready: bool | None = None

    def _init(self) -> bool:
        with self._lock:
            if self._ready is None:
                try:
                    import pynvml

                    pynvml.nvmlInit()
                    self._ready = True
                except Exception as exc:  # no library, no driver, no device: all mean "no GPU"
                    log.debug("NVML unavailable: %s", exc)
                    self._ready = False
            return self._ready

    def read(self) -> GpuReading | None:
        if not self._init():
            return None
        import pynvml

        try:
            count = pynvml.nvmlDeviceGetCount()
            if count == 0:
                return None
            util = used = total = 0.0
            for index in range(count):
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                util += float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
                memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
                used += float(memory.used)
                total += float(memory.total)
            return GpuReading(round(util / count, 1), round(used / 2**20, 1), round(total / 2**20, 1))
        except Exception as exc:  # a driver hiccup costs the GPU fields, not the whole reading
            log.debug("NVML reading failed: %s", exc)
            return None


NVML = _Nvml()


class _CpuMeter:
    """CPU use since the previous reading, psutil's non-blocking form, so a dashboard polling every second or an
    agent calling resource_usage in a loop does not pay a 0.1 s sample each time. A reading asked within
    REUSE_S of the last returns that one; one asked after STALE_S (the average over so long a gap says little
    about now) samples a fresh 0.1 s window, as the first reading does."""

    REUSE_S = 0.25
    STALE_S = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at: float | None = None
        self._value = 0.0

    def read(self) -> float:
        import time

        import psutil

        with self._lock:  # psutil keeps one "previous" per process: readings must not interleave
            now = time.monotonic()
            if self._at is not None and now - self._at < self.REUSE_S:
                return self._value
            if self._at is None or now - self._at > self.STALE_S:
                self._value = float(psutil.cpu_percent(interval=0.1))
            else:
                self._value = float(psutil.cpu_percent(interval=None))
            self._at = time.monotonic()
            return self._value


CPU = _CpuMeter()


def cpu_percent() -> float:
    """CPU use of the whole machine, recent; call it in a worker thread (it may sleep 0.1 s)."""
    return CPU.read()


def memory() -> tuple[float, float, float]:
    """(total GB, used GB, percent)."""
    import psutil

    vm = psutil.virtual_memory()
    return round(vm.total / 1e9, 2), round((vm.total - vm.available) / 1e9, 2), float(vm.percent)


def disk_free(path: Path) -> int | None:
    """Free bytes on the file system that holds `path` (its nearest existing folder: the cache may not exist yet)."""
    import shutil

    for folder in (path, *path.parents):
        if folder.exists():
            try:
                return shutil.disk_usage(folder).free
            except OSError:
                return None
    return None


def folder_size(path: Path) -> int:
    """Bytes under `path`, each file once (the Hub cache links snapshots to blobs), links not followed."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                stat = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            key = (stat.st_dev, stat.st_ino)
            if key not in seen and not os.path.islink(os.path.join(root, name)):
                seen.add(key)
                total += stat.st_size
    return total


class ProcessTrees:
    """Resident memory and uptime of a server's whole process tree (Ollama's runners, vLLM's workers count too).

    Finding a process's descendants reads every process's stat file: a few ms on a busy machine, most of what a
    runtime_status call would cost. So the descendants found are kept per process and looked for again only when
    its `hint` changes (what the server serves: Ollama starts a runner per loaded model), when one of them has
    ended, or RESCAN_SECONDS after the last look; the memory itself is read fresh on every call."""

    RESCAN_SECONDS = 10.0

    def __init__(self) -> None:
        self._known: dict[int, tuple[Any, object, float, list[Any]]] = {}  # pid -> (process, hint, when, descendants)

    def measure(self, pid: int, hint: object = None) -> tuple[float, float] | None:
        """(resident MB of the process and its descendants, uptime seconds), or None when it is gone."""
        import time

        import psutil

        try:
            known = self._known.get(pid)
            if known is not None and known[0].is_running():  # the same process (is_running checks pid reuse)
                proc, seen_hint, when, children = known
            else:
                proc, seen_hint, when, children = psutil.Process(pid), None, float("-inf"), []
            if proc.status() == psutil.STATUS_ZOMBIE:
                self._known.pop(pid, None)
                return None
            own = proc.memory_info().rss
            rss: int | None = None
            if seen_hint == hint and time.monotonic() - when < self.RESCAN_SECONDS:
                with contextlib.suppress(psutil.Error):  # one has ended: look again
                    rss = own + sum(child.memory_info().rss for child in children)
            if rss is None:
                children, when = proc.children(recursive=True), time.monotonic()
                rss = own + sum(_resident(child) for child in children)
            self._known[pid] = (proc, hint, when, children)
            return round(rss / 2**20, 1), round(time.time() - proc.create_time(), 1)
        except psutil.Error:
            self._known.pop(pid, None)
            return None


def _resident(proc: Any) -> int:
    """A process's resident bytes; 0 for one that ended (or hides itself) meanwhile."""
    import psutil

    try:
        return int(proc.memory_info().rss)
    except psutil.Error:
        return 0


@dataclass(frozen=True)
class Listener:
    """A process that listens on a TCP port."""

    pid: int
    command: str
    create_time: float


def listener(port: int) -> Listener | None:
    """The process listening on `port` (any local address), or None. Pids of other users' processes are not
    visible without privileges: then None although the port answers."""
    import psutil

    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            try:
                proc = psutil.Process(conn.pid)
                return Listener(conn.pid, " ".join(proc.cmdline()) or proc.name(), proc.create_time())
            except psutil.Error:
                continue
    return None


def still_running(known: Listener) -> bool:
    """Whether that very process (same start time: pids are reused) still runs. Cheap, unlike asking which
    sockets it holds (that parses the machine's whole TCP table)."""
    import psutil

    try:
        proc = psutil.Process(known.pid)
        return abs(proc.create_time() - known.create_time) <= 1 and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def terminate(pid: int, create_time: float, grace: float = 10.0) -> bool:
    """SIGTERM one process (checked against its start time, against pid reuse), SIGKILL after `grace` s.
    Only that pid: never a group, never by name. True when it was running."""
    import psutil

    try:
        proc = psutil.Process(pid)
        if abs(proc.create_time() - create_time) > 1:
            return False
        proc.terminate()
        _, alive = psutil.wait_procs([proc], timeout=grace)
        for rest in alive:
            rest.kill()
        psutil.wait_procs(alive, timeout=5)
    except psutil.NoSuchProcess:
        return False
    return True
