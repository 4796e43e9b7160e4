"""The alerts in force and the recent history: the only writer of `$VENOM_HOME/alerts.json`, and the delivery of
every change to the listeners (the MCP face), in the order the changes happened.

File: `{"active": [Alert], "recent": [Alert] (cleared, newest first, at most HISTORY), "updated_at"}`, written
atomically on each change (raised, level changed, cleared), never on a plain new reading."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from ...errors import StateError
from ...records import Alert, AlertKind, AlertList
from ...store import atomic_write_json, locked, read_json

log = logging.getLogger("venom_mcp.services.alerts")

HISTORY = 200  # cleared alerts kept
DELIVERY_SECONDS = 5.0  # how long closing waits for the last deliveries

Event = Literal["raised", "changed", "cleared"]
Listener = Callable[[Event, Alert], Awaitable[None]]
Level = Literal["warning", "critical"]


def key_of(kind: str, provider: str | None = None, model: str | None = None, endpoint: str | None = None) -> str:
    """What makes two alerts the same condition: the kind and what it concerns."""
    return "|".join((kind, provider or "", model or "", endpoint or ""))


def _key(alert: Alert) -> str:
    return key_of(alert.kind, alert.llm_provider, alert.llm_model, alert.llm_endpoint)


class AlertBook:
    def __init__(self, path: Path, clock: Callable[[], datetime]) -> None:
        self.path = path
        self._clock = clock
        self.active: dict[str, Alert] = {}
        self._cleared: deque[Alert] = deque(maxlen=HISTORY)  # oldest first
        self._listeners: list[Listener] = []
        self._last: asyncio.Task[None] | None = None  # the latest delivery; each one waits for the one before
        self._deliveries: set[asyncio.Task[None]] = set()
        self._load()

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def get(self, key: str) -> Alert | None:
        return self.active.get(key)

    def open(self, key: str, kind: AlertKind, level: Level, message: str, value: float | None,
             threshold: float | None, provider: str | None = None, model: str | None = None,
             endpoint: str | None = None) -> Alert:
        alert = Alert(alert_id=uuid.uuid4().hex, kind=kind, level=level, message=message, value=value,
                      threshold=threshold, llm_provider=provider, llm_model=model, llm_endpoint=endpoint,
                      raised_at=self._clock())
        self.active[key] = alert
        self._changed("raised", alert)
        return alert

    def update(self, key: str, *, value: float | None, level: Level, message: str, keep: bool = False) -> None:
        """A new reading of an alert in force. A level change is told to the listeners and written; otherwise the
        reading is written only with `keep` (a failed call, not the watcher's every tick)."""
        alert = self.active[key]
        alert.value = value
        if level != alert.level:
            alert.level, alert.message = level, message
            self._changed("changed", alert)
        elif keep:
            alert.message = message
            self._persist()

    def close(self, key: str, note: str, value: float | None = None) -> Alert:
        alert = self.active.pop(key)
        alert.cleared_at = self._clock()
        alert.message = f"{alert.message}; cleared: {note}"
        if value is not None:
            alert.value = value
        self._cleared.append(alert)
        self._changed("cleared", alert)
        return alert

    def report(self, limit: int) -> AlertList:
        active = sorted(self.active.values(), key=lambda a: a.raised_at, reverse=True)
        recent = sorted([*self.active.values(), *self._cleared], key=lambda a: a.raised_at, reverse=True)
        return AlertList(active=[a.model_copy() for a in active[:limit]],
                         recent=[a.model_copy() for a in recent[:limit]], count=len(active))

    async def drain(self) -> None:
        """Wait (a few seconds at most) for the deliveries under way on this loop; cancel what is left."""
        loop = asyncio.get_running_loop()
        pending = {t for t in self._deliveries if not t.done() and t.get_loop() is loop}
        if pending:
            _, late = await asyncio.wait(pending, timeout=DELIVERY_SECONDS)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        self._last = None

    # ---- changes, delivery, the file ------------------------------------------------------------------------

    def _changed(self, event: Event, alert: Alert) -> None:
        self._persist()
        log.info("alert %s: %s %s: %s", event, alert.level, alert.kind, alert.message)
        if not self._listeners:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop, no client to tell
            return
        previous = self._last if self._last is not None and self._last.get_loop() is loop else None
        task = loop.create_task(self._deliver(previous, event, alert.model_copy()))
        self._last = task
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, previous: asyncio.Task[None] | None, event: Event, alert: Alert) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # in order; a failed or cancelled one does not stop this one
        for listener in list(self._listeners):
            try:
                await listener(event, alert)
            except Exception as exc:  # a listener that fails costs its own delivery only
                log.debug("alert delivery failed: %s", exc)

    def _persist(self) -> None:
        data = {"active": [a.model_dump(mode="json") for a in self.active.values()],
                "recent": [a.model_dump(mode="json") for a in reversed(self._cleared)],
                "updated_at": self._clock()}
        try:
            with locked(self.path):
                atomic_write_json(self.path, data)
        except OSError as exc:
            log.warning("could not write %s: %s", self.path, exc)

    def _load(self) -> None:
        try:
            raw = read_json(self.path)
        except (StateError, OSError) as exc:
            log.error("%s; starting without the alerts of before", exc)
            return
        if not isinstance(raw, dict):
            return
        cleared: list[Alert] = []
        for item in [*raw.get("active", []), *raw.get("recent", [])]:
            try:
                alert = Alert.model_validate(item)
            except (ValidationError, TypeError):
                continue  # written by a later version, or edited by hand: keep what can be read
            if alert.cleared_at is None:
                self.active[_key(alert)] = alert
            else:
                cleared.append(alert)
        for alert in sorted(cleared, key=lambda a: a.cleared_at or a.raised_at)[-HISTORY:]:
            self._cleared.append(alert)
