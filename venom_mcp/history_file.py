"""A history kept in memory by its owner and written to one JSON file under VENOM_HOME, throttled.

The request history (services/governance) and the operation history (services/operations) change in bursts: every
model call, every progress step of a download. Each change is noted here; the file is written atomically (store.py)
at once when the change must be seen now (`force`: an operation started or ended), else at most once every `every`
seconds: a change inside that time is written when it is up (on the running event loop), by the next write, or by
`flush` at close, whichever comes first. The file holds `{key: [records], "updated_at": ...}`; its owner is its only
writer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .errors import StateError
from .store import atomic_write_json, locked, read_json

log = logging.getLogger(__name__)


class HistoryFile:
    def __init__(self, path: Path, key: str, records: Callable[[], Sequence[BaseModel]], *, every: float = 1.0,
                 lock: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        """`records` gives what to write, when a write happens; `lock` also holds the file's inter-process lock
        while writing (store.locked)."""
        self._clock = clock
        self.path = path
        self._key = key
        self._records = records
        self._every = every
        self._lock = lock
        self._last = float("-inf")  # monotonic time of the last write
        self._pending = False
        self._timer: asyncio.TimerHandle | None = None

    def read(self) -> list[Any]:
        """The records as the file holds them (a bare list, the older form, too); none when it is missing or does
        not parse (logged: the history starts anew)."""
        try:
            raw = read_json(self.path)
        except StateError as exc:
            log.error("%s; starting a new history", exc)
            return []
        items = raw.get(self._key, []) if isinstance(raw, dict) else raw if isinstance(raw, list) else []
        return list(items) if isinstance(items, list) else []

    def changed(self, force: bool = False) -> None:
        """Note a change: written now when `force` or when the last write is `every` seconds old, else later."""
        if force or self._clock() - self._last >= self._every:
            self._write()
            return
        self._pending = True
        if self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a synchronous caller): the next write or flush() takes it
                return
            self._timer = loop.call_later(max(self._every - (self._clock() - self._last), 0.0), self._due)

    def flush(self) -> None:
        """Write a change not written yet (at close)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            self._write()

    def _due(self) -> None:
        self._timer = None
        if self._pending:
            self._write()

    def _write(self) -> None:
        self._pending = False
        self._last = self._clock()
        payload = {self._key: [r.model_dump(mode="json") for r in self._records()], "updated_at": datetime.now(UTC)}
        try:
            if self._lock:
                with locked(self.path):
                    atomic_write_json(self.path, payload)
            else:
                atomic_write_json(self.path, payload)
        except OSError as exc:
            log.warning("could not write %s: %s", self.path, exc)


__all__ = ["HistoryFile"]
