"""The watcher: one asyncio task that reads the probes every VENOM_ALERT_INTERVAL_SECONDS and judges each reading
against its threshold with hysteresis; and the hook governance calls when a model call ends, so that a failed call
is an alert at once. A provider's error rate is read from governance's request history (so it survives a restart).

Hysteresis: an alert is raised when a reading reaches its threshold and cleared only when a reading falls below the
threshold minus MARGIN points, so a value hovering at the line does not flap. It is critical from halfway between
the threshold and 100 on (RAM at 85: from 92.5), and back to a warning only MARGIN points below that."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from ...config import Settings
from ...records import ActiveRuntime, AlertKind, AlertList, RequestRecord
from .book import AlertBook, Level, Listener, key_of
from .probes import Probes

log = logging.getLogger("venom_mcp.services.alerts")

MARGIN = 5.0  # points below the threshold a reading must fall to clear its alert
RECENT_SECONDS = 900  # calls older than this do not count; a failed call's alert clears after this long in peace
ERROR_WINDOW = 20  # a provider's error rate is over its last calls, at most this many
ERROR_MIN_CALLS = 4  # and needs at least this many
CRITICAL_FAILURES = 3  # failures in a row that make a failed call's alert critical

T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


def _refused(record: RequestRecord) -> bool:
    """A call the governance gate refused before sending (its own rate limit or a budget): not the provider's fault.
    Those records take no time; a provider's own 429 does."""
    return record.reason in ("RATE_LIMITED", "BUDGET_EXCEEDED") and record.duration_seconds == 0


class Alerts:
    """`calls` gives the recent model calls, newest first (governance's request history); without it there is no
    error-rate check."""

    def __init__(self, settings: Settings, path: Path, probes: Probes, *,
                 calls: Callable[[], Iterable[RequestRecord]] | None = None,
                 clock: Callable[[], datetime] = _now, interval: float | None = None) -> None:
        self._settings = settings
        self._probes = probes
        self._calls = calls
        self._clock = clock
        self.interval = settings.alert_interval_seconds if interval is None else interval
        self.book = AlertBook(path, clock)
        self._last_failure: dict[str, datetime] = {}
        self._task: asyncio.Task[None] | None = None

    # ---- what the faces use ---------------------------------------------------------------------------------

    def listen(self, listener: Listener) -> None:
        """Call `listener(event, alert)` on every change: "raised", "changed" (its level) or "cleared"."""
        self.book.listen(listener)

    def report(self, limit: int) -> AlertList:
        return self.book.report(limit)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start watching on the running loop (again, after a stop): a round every `interval` seconds, the first
        one `interval` seconds from now. Starting a running watcher changes nothing."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self._watch(), name="venom-mcp alerts")

    async def aclose(self) -> None:
        """Stop the watcher and let the last changes reach the listeners; nothing is left running."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            if task.get_loop() is asyncio.get_running_loop():
                await asyncio.wait([task])
        await self.book.drain()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:  # one bad round must not end the watching
                log.exception("the alert check failed; trying again in %g s", self.interval)

    # ---- one round ------------------------------------------------------------------------------------------

    async def check(self) -> None:
        """Read every probe (at the same time) and judge each reading."""
        probes = self._probes
        (_, memory), (_, vram), (_, disk), (read, runtime) = await asyncio.gather(
            self._read(probes.memory), self._read(probes.vram), self._read(probes.disk), self._read(probes.runtime))
        settings = self._settings
        if memory is not None:
            self._judge("ram", key_of("ram"), memory, settings.alert_ram_percent,
                        f"RAM {memory:.1f}% in use (VENOM_ALERT_RAM_PERCENT={settings.alert_ram_percent:g}): "
                        "unload_models frees what the runtimes hold")
        if vram is not None:
            self._judge("vram", key_of("vram"), vram, settings.alert_vram_percent,
                        f"VRAM {vram:.1f}% in use (VENOM_ALERT_VRAM_PERCENT={settings.alert_vram_percent:g}): "
                        "unload_models frees it; check_fit says what fits")
        if disk is not None:
            used, limit = disk
            percent = round(100 * used / limit, 2) if limit > 0 else 100.0
            self._judge("disk", key_of("disk"), percent, settings.alert_disk_percent,
                        f"installed models take {used:g} GB of MODELS_MAX_DISK_GB={limit:g} ({percent:.1f}%, "
                        f"VENOM_ALERT_DISK_PERCENT={settings.alert_disk_percent:g}): remove_model frees space; "
                        "an install past the quota is refused")
        if read:  # a probe that failed gives no verdict: the runtime is judged next round
            self._runtime(runtime)
        now = self._clock()
        providers = {r.llm_provider for r in self._recent_calls(now)}
        for provider in providers | {a.llm_provider for a in self.book.active.values()
                                     if a.kind == "llm_error_rate" and a.llm_provider}:
            self._rate(provider, now)
        for key, alert in list(self.book.active.items()):
            last = self._last_failure.get(key, alert.raised_at)
            if alert.kind == "llm_error" and (now - last).total_seconds() > RECENT_SECONDS:
                self._last_failure.pop(key, None)
                self.book.close(key, f"no failure in {RECENT_SECONDS // 60} min")

    async def _read(self, probe: Callable[[], Awaitable[T]] | None) -> tuple[bool, T | None]:
        """(whether the probe answered, its reading)."""
        if probe is None:
            return False, None
        try:
            return True, await probe()
        except Exception as exc:  # a probe that fails skips its check; the next round tries again
            log.debug("an alert probe failed: %s", exc)
            return False, None

    def _judge(self, kind: AlertKind, key: str, value: float, threshold: float, message: str,
               **names: str | None) -> None:
        """Raise at `threshold`, clear below `threshold - MARGIN`; critical from halfway to 100."""
        margin = min(MARGIN, threshold / 2)
        critical = threshold + (100 - threshold) / 2
        alert = self.book.get(key)
        if alert is None:
            if value >= threshold:
                level: Level = "critical" if value >= critical else "warning"
                self.book.open(key, kind, level, message, value, threshold, names.get("provider"),
                               names.get("model"), names.get("endpoint"))
            return
        alert.threshold = threshold
        if value < threshold - margin:
            self.book.close(key, f"{value:g} is below {threshold - margin:g} (threshold {threshold:g} minus "
                                 f"{margin:g})", value)
            return
        level = alert.level
        if level == "warning" and value >= critical:
            level = "critical"
        elif level == "critical" and value < critical - margin:
            level = "warning"
        self.book.update(key, value=value, level=level, message=message)

    def _runtime(self, active: ActiveRuntime | None) -> None:
        """The active local runtime offline (critical) or degraded (warning); cleared when it is online again."""
        current = (key_of("runtime", active.provider, active.model, active.endpoint)
                   if active is not None and active.provider else None)
        for key, old in list(self.book.active.items()):
            if old.kind == "runtime" and key != current:
                self.book.close(key, f"{old.llm_provider} with {old.llm_model} is no longer the active runtime")
        if active is None or current is None or active.status not in ("online", "offline", "degraded"):
            return  # switching or unknown: no verdict this round
        alert = self.book.get(current)
        if active.status == "online":
            if alert is not None:
                self.book.close(current, f"{active.provider} is online again")
            return
        level: Level = "critical" if active.status == "offline" else "warning"
        message = (f"the active runtime {active.provider} ({active.model} at {active.endpoint}) is {active.status}: "
                   f"{active.message or 'it does not answer'}; runtime_status shows it, control_runtime restarts it")
        if alert is None:
            self.book.open(current, "runtime", level, message, None, None, active.provider, active.model,
                           active.endpoint)
        else:
            self.book.update(current, value=None, level=level, message=message)

    # ---- model calls ----------------------------------------------------------------------------------------

    def record_call(self, record: RequestRecord) -> None:
        """Governance's hook for every finished model call: a failed one raises (or repeats) the alert of its
        provider, model and endpoint at once, a successful one clears it; both count towards the error rate."""
        if record.status not in ("ok", "error"):
            return
        now = self._clock()
        provider, model, endpoint = record.llm_provider, record.llm_model, record.llm_endpoint
        failed = record.status == "error"
        key = key_of("llm_error", provider, model, endpoint)
        alert = self.book.get(key)
        if failed:
            self._last_failure[key] = now
            message = f"{provider} call failed: model {model} at {endpoint}: {record.error or 'no error text'}"
            if alert is None:
                self.book.open(key, "llm_error", "warning", message, 1, 1, provider, model, endpoint)
            else:
                count = (alert.value or 0) + 1
                level: Level = "critical" if count >= CRITICAL_FAILURES else alert.level
                self.book.update(key, value=count, level=level, message=message, keep=True)
        elif alert is not None:
            self._last_failure.pop(key, None)
            self.book.close(key, f"{model} answered at {endpoint}")
        self._rate(provider, now)

    def _recent_calls(self, now: datetime) -> list[RequestRecord]:
        """The finished calls of the last RECENT_SECONDS, newest first, without the gate's own refusals."""
        if self._calls is None:
            return []
        return [r for r in self._calls() if r.status in ("ok", "error") and r.finished_at is not None
                and (now - r.finished_at).total_seconds() <= RECENT_SECONDS and not _refused(r)]

    def _rate(self, provider: str, now: datetime) -> None:
        """The share of failed calls among the provider's last ERROR_WINDOW recent ones (at least ERROR_MIN_CALLS),
        against VENOM_ALERT_ERROR_RATE_PERCENT."""
        if self._calls is None:
            return
        key = key_of("llm_error_rate", provider)
        recent = [r.status == "error" for r in self._recent_calls(now) if r.llm_provider == provider][:ERROR_WINDOW]
        if not recent:
            if self.book.get(key) is not None:
                self.book.close(key, f"no calls to {provider} in {RECENT_SECONDS // 60} min")
            return
        if len(recent) < ERROR_MIN_CALLS:
            return
        errors, threshold = sum(recent), self._settings.alert_error_rate_percent
        rate = round(100 * errors / len(recent), 1)
        self._judge("llm_error_rate", key, rate, threshold,
                    f"{provider}: {errors} of its last {len(recent)} calls failed ({rate:g}%, "
                    f"VENOM_ALERT_ERROR_RATE_PERCENT={threshold:g}): request_history names the errors",
                    provider=provider)
