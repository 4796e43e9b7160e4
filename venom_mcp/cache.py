"""TTL cache with stale fallback, persisted under $VENOM_HOME/cache.

Fresh entries are served from memory (or from disk after a restart). When an entry is due, one
upstream fetch runs however many callers ask at once; if it fails, the last good value is served
as stale together with the error, and the failure never replaces good data.

`get(..., refresh=True)` skips the freshness check and asks upstream now, with the same single flight
and the same stale fallback, but at most once per key every MIN_REFRESH_SECONDS (or the TTL, if shorter:
a refresh is never throttled harder than a plain read): a refresh that comes
sooner after the last fetch gets that fetch's answer (or, if it failed, the last good value with its
error) instead of another upstream call, so a client cannot hammer a source through `refresh`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter, ValidationError

from .errors import StateError
from .store import atomic_write_json, read_json

log = logging.getLogger(__name__)
T = TypeVar("T")
MIN_REFRESH_SECONDS = 10.0


@dataclass(frozen=True)
class Cached(Generic[T]):
    value: T | None
    stale: bool
    error: str | None
    fetched_at: datetime | None


@dataclass(frozen=True)
class _Entry:
    value: Any
    fetched_at: float


@dataclass(frozen=True)
class _Failure:
    at: float
    error: str


def describe(exc: BaseException) -> str:
    """A one-line error text for results: the exception's message, or its type when it has none."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text or type(exc).__name__


class TTLCache:
    def __init__(self, directory: Path, ttl_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self._dir = directory
        self._ttl = ttl_seconds
        self._min_refresh = min(MIN_REFRESH_SECONDS, ttl_seconds)
        self._clock = clock
        self._memory: dict[str, _Entry] = {}
        self._inflight: dict[str, asyncio.Task[Any]] = {}
        self._failures: dict[str, _Failure] = {}  # the last failed upstream fetch per key, until one succeeds

    async def get(
        self, key: str, fetch: Callable[[], Awaitable[T]], codec: TypeAdapter[T], *, refresh: bool = False
    ) -> Cached[T]:
        entry = self._memory.get(key) or self._load(key, codec)
        now = self._clock()
        if not refresh and entry is not None and now - entry.fetched_at < self._ttl:
            return Cached(entry.value, stale=False, error=None, fetched_at=_when(entry.fetched_at))
        if refresh and key not in self._inflight and (recent := self._recent(key, entry, now)) is not None:
            return recent
        try:
            fresh: _Entry = await self._single_flight(key, fetch, codec)
        except Exception as exc:  # any upstream fault, garbage included, falls back to the last good value
            log.warning("refresh of %s failed: %s", key, describe(exc))
            entry = self._memory.get(key)
            if entry is None:
                return Cached(None, stale=True, error=describe(exc), fetched_at=None)
            return Cached(entry.value, stale=True, error=describe(exc), fetched_at=_when(entry.fetched_at))
        return Cached(fresh.value, stale=False, error=None, fetched_at=_when(fresh.fetched_at))

    async def _single_flight(
        self, key: str, fetch: Callable[[], Awaitable[T]], codec: TypeAdapter[T]
    ) -> _Entry:
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._refresh(key, fetch, codec), name=f"cache-refresh:{key}")
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._finish(key, done))
        # shield: one caller giving up must not cancel the fetch the others are waiting for.
        result: _Entry = await asyncio.shield(task)
        return result

    def _finish(self, key: str, task: asyncio.Task[Any]) -> None:
        self._inflight.pop(key, None)
        if not task.cancelled():
            task.exception()  # mark retrieved even when every waiter went away

    def _recent(self, key: str, entry: _Entry | None, now: float) -> Cached[Any] | None:
        """The answer of an upstream fetch that ended less than the refresh interval ago, if there was one."""
        failure = self._failures.get(key)
        if failure is not None and 0 <= now - failure.at < self._min_refresh:
            value, when = (entry.value, _when(entry.fetched_at)) if entry is not None else (None, None)
            return Cached(value, stale=True, error=failure.error, fetched_at=when)
        if entry is not None and 0 <= now - entry.fetched_at < self._min_refresh:
            return Cached(entry.value, stale=False, error=None, fetched_at=_when(entry.fetched_at))
        return None

    async def _refresh(self, key: str, fetch: Callable[[], Awaitable[T]], codec: TypeAdapter[T]) -> _Entry:
        try:
            value = await fetch()
        except Exception as exc:
            self._failures[key] = _Failure(self._clock(), describe(exc))
            raise
        entry = _Entry(value, self._clock())
        self._failures.pop(key, None)
        self._memory[key] = entry
        payload = {"key": key, "fetched_at": entry.fetched_at, "value": codec.dump_python(value, mode="json")}
        try:
            await asyncio.to_thread(atomic_write_json, self._file(key), payload)
        except OSError as exc:  # a full disk costs persistence, not the answer
            log.warning("could not persist cache entry %s: %s", key, exc)
        return entry

    def _load(self, key: str, codec: TypeAdapter[T]) -> _Entry | None:
        try:
            raw = read_json(self._file(key))
        except (StateError, OSError) as exc:
            log.warning("ignoring unreadable cache file for %s: %s", key, exc)
            return None
        if not isinstance(raw, dict) or raw.get("key") != key:
            return None
        try:
            entry = _Entry(codec.validate_python(raw["value"]), float(raw["fetched_at"]))
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            log.warning("ignoring cache entry %s in an older format: %s", key, exc)
            return None
        self._memory[key] = entry
        return entry

    def _file(self, key: str) -> Path:
        return self._dir / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"

    def clear_memory(self) -> None:
        """Forget what is in memory (tests use it to act out a restart)."""
        self._memory.clear()


def _when(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


__all__ = ["MIN_REFRESH_SECONDS", "Cached", "TTLCache", "describe"]
