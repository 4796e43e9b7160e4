"""The spend ledger: every finished model call appended to `$VENOM_HOME/ledger.jsonl`, read back at start-up, so
that budgets, cost and provider_metrics survive restarts.

Format: JSON Lines, one object a line, UTF-8, oldest first:

    {"kind":"before","day":"2024-11-01","provider":"openai","model":"gpt-4o","requests":812,"errors":3,
     "prompt_tokens":90210,"completion_tokens":40100,"cost_usd":1.2345}     all calls before that day
    {"kind":"day","day":"2025-12-01","provider":"openai","model":"gpt-4o-mini",...same counts...}
    {"kind":"call","at":"2025-12-02T10:00:00.123456+00:00","provider":"openai","model":"gpt-4o-mini",
     "status":"ok","reason":null,"prompt_tokens":12,"completion_tokens":30,"cost_usd":2.0e-05,"latency_ms":812.3}

Why JSON Lines and not SQLite: a record is one `write()` of one line with O_APPEND, then fsync, under the same
inter-process lock as every other state file (store.locked); a crash can only tear the last line, which a reader
skips and the next writer cuts off. It needs no schema migration, a person can read it with `tail`, and other
processes pick up new spend by reading only the bytes added since their last look. SQLite would give the same safety
with more machinery (a connection per thread, WAL files beside it) and nothing we need.

Bounded: when more than `keep_calls` (+ a quarter) calls are on file, the oldest calls are folded into per-day,
per-provider, per-model totals, and day totals older than `keep_days` into one "before" line per provider and
model; the new file replaces the old one atomically. Latency percentiles come from the calls kept.
Deleting the file starts the spend over.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ...store import atomic_write_text, locked
from .usage import Call, Counts, Tally, Total

log = logging.getLogger(__name__)

KEEP_CALLS = 5000
KEEP_DAYS = 400
_COUNT_FIELDS = ("requests", "errors", "prompt_tokens", "completion_tokens")


def _today() -> date:
    return datetime.now(UTC).date()


class Ledger:
    def __init__(self, path: Path, *, keep_calls: int = KEEP_CALLS, keep_days: int = KEEP_DAYS,
                 today: Callable[[], date] = _today) -> None:
        self.path = path
        self.keep_calls = keep_calls
        self.keep_days = keep_days
        self.today = today
        self.tally = Tally()
        self._offset = 0
        self._identity: tuple[int, int] | None = None
        self._read()
        if self._over():
            self.compact()

    def append(self, call: Call) -> None:
        """Write one call durably (fsync), then fold in what is new in the file: this call and any other process's."""
        data = (json.dumps(_call_json(call), separators=(",", ":")) + "\n").encode()
        written = False
        try:
            with locked(self.path):
                self._cut_torn_tail()
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                    written = True
                    os.fsync(fd)
                finally:
                    os.close(fd)
                self._read()
                if self._over():
                    self._compact()
        except OSError as exc:
            log.warning("could not write the spend ledger %s: %s", self.path, exc)
            if not written:
                self.tally.add_call(call)  # counted in this process at least

    def refresh(self) -> None:
        """Fold in what other processes appended; a replaced (compacted) or deleted file is read anew."""
        try:
            self._read()
        except OSError as exc:
            log.warning("could not read the spend ledger %s: %s", self.path, exc)

    def compact(self) -> None:
        with locked(self.path):
            self._compact()

    def _over(self) -> bool:
        return self.tally.calls > self.keep_calls + max(1, self.keep_calls // 4)

    def _read(self) -> None:
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed below; the identity must be this handle's
        except FileNotFoundError:
            if self._identity is not None:
                self._reset(None)
            return
        with handle:
            stat = os.fstat(handle.fileno())
            identity = (stat.st_dev, stat.st_ino)
            if identity != self._identity or stat.st_size < self._offset:
                self._reset(identity)
            handle.seek(self._offset)
            data = handle.read()
        end = data.rfind(b"\n") + 1  # a last line without its newline is torn, or still being written
        for line in data[:end].splitlines():
            entry = _parse(line)
            if isinstance(entry, Call):
                self.tally.add_call(entry)
            elif isinstance(entry, Total):
                self.tally.add_total(entry)
            elif line.strip():
                log.warning("skipped an unreadable line of %s", self.path)
        self._offset += end

    def _reset(self, identity: tuple[int, int] | None) -> None:
        self.tally, self._offset, self._identity = Tally(), 0, identity

    def _cut_torn_tail(self) -> None:
        """Under the lock nobody is writing: a last line without a newline is what a crash left; cut it off."""
        try:
            with open(self.path, "rb+") as handle:
                size = handle.seek(0, os.SEEK_END)
                if size == 0:
                    return
                handle.seek(size - 1)
                if handle.read(1) == b"\n":
                    return
                start = max(0, size - 65_536)  # a record is a few hundred bytes
                handle.seek(start)
                cut = handle.read().rfind(b"\n")
                if cut < 0 and start:
                    handle.seek(0)
                    start, cut = 0, handle.read().rfind(b"\n")
                keep = start + cut + 1
                log.warning("cut a torn last line (%d bytes) off %s", size - keep, self.path)
                handle.truncate(keep)
                handle.flush()
                os.fsync(handle.fileno())
        except FileNotFoundError:
            return

    def _compact(self) -> None:
        """Rewrite the file (atomically) with the old calls folded into totals; then read it anew."""
        try:
            lines = self.path.read_bytes().splitlines(keepends=True)
        except FileNotFoundError:
            return
        calls: list[Call] = []
        days: dict[tuple[str, str, str], Counts] = {}
        before: dict[tuple[str, str], Counts] = {}
        before_day = ""
        for line in lines:
            if not line.endswith(b"\n"):
                continue  # torn: not counted anywhere, so not kept
            entry = _parse(line)
            if isinstance(entry, Call):
                calls.append(entry)
            elif isinstance(entry, Total) and entry.kind == "day":
                days.setdefault((entry.day, entry.provider, entry.model), Counts()).add(entry.counts)
            elif isinstance(entry, Total):
                before.setdefault((entry.provider, entry.model), Counts()).add(entry.counts)
                before_day = max(before_day, entry.day)
        kept = calls[max(0, len(calls) - self.keep_calls):] if self.keep_calls else []
        for call in calls[:len(calls) - len(kept)]:
            days.setdefault((call.day, call.provider, call.model), Counts()).add(call.counts())
        cutoff = (self.today() - timedelta(days=self.keep_days)).isoformat()
        for key in [k for k in days if k[0] < cutoff]:
            before.setdefault(key[1:], Counts()).add(days.pop(key))
            before_day = max(before_day, cutoff)
        out = [_total_json(Total("before", before_day, p, m, c)) for (p, m), c in sorted(before.items())]
        out += [_total_json(Total("day", d, p, m, c)) for (d, p, m), c in sorted(days.items())]
        out += [_call_json(call) for call in kept]
        atomic_write_text(self.path, "".join(json.dumps(o, separators=(",", ":")) + "\n" for o in out))
        self._reset(None)
        self._read()


def _call_json(call: Call) -> dict[str, Any]:
    return {"kind": "call", "at": call.at.astimezone(UTC).isoformat(), "provider": call.provider,
            "model": call.model, "status": "ok" if call.ok else "error", "reason": call.reason,
            "prompt_tokens": call.prompt_tokens, "completion_tokens": call.completion_tokens,
            "cost_usd": round(call.cost_usd, 10), "latency_ms": round(call.latency_ms, 1)}


def _total_json(total: Total) -> dict[str, Any]:
    c = total.counts
    return {"kind": total.kind, "day": total.day, "provider": total.provider, "model": total.model,
            "requests": c.requests, "errors": c.errors, "prompt_tokens": c.prompt_tokens,
            "completion_tokens": c.completion_tokens, "cost_usd": round(c.cost_usd, 10)}


def _parse(line: bytes) -> Call | Total | None:
    """One line, or None when it is not one we can read (torn, edited by hand, or of a later kind)."""
    try:
        raw = json.loads(line)
        kind = raw["kind"]
        if kind == "call":
            at = datetime.fromisoformat(raw["at"])
            return Call(at=at if at.tzinfo else at.replace(tzinfo=UTC), provider=str(raw["provider"]),
                        model=str(raw["model"]), ok=raw["status"] == "ok", reason=raw.get("reason"),
                        prompt_tokens=int(raw.get("prompt_tokens") or 0),
                        completion_tokens=int(raw.get("completion_tokens") or 0),
                        cost_usd=float(raw.get("cost_usd") or 0.0), latency_ms=float(raw.get("latency_ms") or 0.0))
        if kind in ("day", "before"):
            requests, errors, prompt, completion = (int(raw.get(f) or 0) for f in _COUNT_FIELDS)
            counts = Counts(requests, errors, prompt, completion, float(raw.get("cost_usd") or 0.0))
            return Total(kind, str(raw["day"]), str(raw["provider"]), str(raw["model"]), counts)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return None
