"""The throttled JSON history writer (history_file.py) that the request history (governance) and the operation
history share: a forced change is on disk at once, a burst costs one write, a change held back is written when its
time is up or at flush, and the file is only ever whole."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from venom_mcp.history_file import HistoryFile


class Row(BaseModel):
    n: int


def stored(path: Path) -> list[int]:
    return [row["n"] for row in json.loads(path.read_text(encoding="utf-8"))["rows"]]


def test_a_burst_costs_one_write_and_flush_writes_the_rest(tmp_path: Path) -> None:
    rows: list[Row] = []
    history = HistoryFile(tmp_path / "rows.json", "rows", lambda: rows, every=3600)
    rows.append(Row(n=1))
    history.changed()  # the first change: nothing written for an hour, so it is written now
    for n in range(2, 50):
        rows.append(Row(n=n))
        history.changed()  # held back: no event loop here, so the next write or flush takes them
    assert stored(history.path) == [1]
    history.flush()
    assert stored(history.path) == list(range(1, 50))
    rows.append(Row(n=50))
    history.changed(force=True)  # a change readers must see now
    assert stored(history.path)[-1] == 50
    assert [p.name for p in tmp_path.iterdir()] == ["rows.json"], "no temporary file is left behind"


async def test_a_held_back_change_is_written_when_its_time_is_up(tmp_path: Path) -> None:
    rows = [Row(n=1)]
    # The throttle's clock stands still, so the second change is certainly held back; the loop's timer runs on.
    history = HistoryFile(tmp_path / "rows.json", "rows", lambda: rows, every=0.2, lock=True, clock=lambda: 100.0)
    history.changed()
    rows.append(Row(n=2))
    history.changed()
    assert stored(history.path) == [1]
    deadline = time.monotonic() + 30
    while stored(history.path) != [1, 2]:  # the loop writes it, without another change or a flush
        assert time.monotonic() < deadline, "the held-back change was never written"
        await asyncio.sleep(0.05)
    history.flush()  # nothing pending: no further write, and the timer is gone
    assert stored(history.path) == [1, 2]


def test_read_takes_both_forms_and_starts_anew_on_a_broken_file(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "rows.json"
    history = HistoryFile(path, "rows", list)
    assert history.read() == []  # no file yet
    path.write_text(json.dumps({"rows": [{"n": 1}], "updated_at": "2026-01-01T00:00:00Z"}))
    assert history.read() == [{"n": 1}]
    path.write_text(json.dumps([{"n": 2}]))  # the older form: a bare list
    assert history.read() == [{"n": 2}]
    path.write_text('{"rows": [')
    with caplog.at_level(logging.ERROR, logger="venom_mcp.history_file"):
        assert history.read() == []
    assert "starting a new history" in caplog.text and str(path) in caplog.text
