"""The translation cache: LRU with a TTL, persisted as one JSON file under $VENOM_HOME/cache."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..store import atomic_write_json

log = logging.getLogger(__name__)

# --- cache -------------------------------------------------------------------------------------------------

_CACHE_FORMAT = 1


class TranslationCache:
    """LRU + TTL cache of translated chunks, persisted as one JSON file.

    Keys are sha256 digests, so the file on disk never holds source text in its keys. Loaded lazily on first
    use; an unreadable or foreign file is ignored with a warning. Methods never await, and a lock guards
    against `save` running in a worker thread while the event loop reads.
    """

    def __init__(
        self,
        path: Path,
        max_entries: int = 2000,
        ttl_seconds: float = 30 * 24 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self.path = path
        self._max = max_entries
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()  # key -> (stored at, value)
        self._loaded = False
        self._dirty = False
        self._lock = threading.RLock()

    @staticmethod
    def key(source_lang: str | None, target_lang: str, model: str, text: str) -> str:
        # JSON keeps the fields apart, so ("a", "bc") and ("ab", "c") never collide.
        blob = json.dumps([_CACHE_FORMAT, source_lang or "", target_lang, model, text], ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def __len__(self) -> int:
        with self._lock:
            self._load()
            return len(self._entries)

    def get(self, key: str) -> str | None:
        with self._lock:
            self._load()
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._expired(entry[0]):
                del self._entries[key]
                self._dirty = True
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._load()
            self._entries[key] = (self._clock(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
            self._dirty = True

    def save(self) -> None:
        """Write the whole cache atomically, least recently used first; a no-op when nothing changed."""
        with self._lock:
            self._load()
            if not self._dirty:
                return
            data: dict[str, Any] = {
                "format": _CACHE_FORMAT,
                "entries": [[key, stored, value] for key, (stored, value) in self._entries.items()],
            }
            atomic_write_json(self.path, data)
            self._dirty = False

    def _expired(self, stored: float) -> bool:
        return self._clock() - stored >= self._ttl

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("ignoring unreadable translation cache %s: %s", self.path, exc)
            return
        try:
            entries = _parse_cache(json.loads(raw))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            log.warning("ignoring translation cache %s: %s", self.path, exc)
            return
        for key, stored, value in entries:
            if not self._expired(stored):
                self._entries[key] = (stored, value)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)


def _parse_cache(data: Any) -> list[tuple[str, float, str]]:
    if not isinstance(data, dict) or data.get("format") != _CACHE_FORMAT or not isinstance(data.get("entries"), list):
        raise ValueError("not a translation cache of this version")
    entries: list[tuple[str, float, str]] = []
    for item in data["entries"]:
        if not (
            isinstance(item, list)
            and len(item) == 3
            and isinstance(item[0], str)
            and isinstance(item[1], int | float)
            and not isinstance(item[1], bool)
            and isinstance(item[2], str)
        ):
            raise ValueError(f"malformed entry {str(item)[:80]!r}")
        entries.append((item[0], float(item[1]), item[2]))
    return entries
