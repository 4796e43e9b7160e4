"""Alerts: RAM, VRAM, the disk quota, the active runtime's health and failed model calls against their thresholds,
with hysteresis; kept in `$VENOM_HOME/alerts.json` and told to listeners (the MCP face) as they change.

A package by concern: watcher.py (the task, the thresholds, the hook for model calls), book.py (what is in force,
the history, the file, delivery), probes.py (what is read, injectable)."""

from __future__ import annotations

from .book import HISTORY, AlertBook, Event, Listener, key_of
from .probes import Probes, machine_probes
from .watcher import CRITICAL_FAILURES, ERROR_MIN_CALLS, ERROR_WINDOW, MARGIN, RECENT_SECONDS, Alerts

__all__ = ["CRITICAL_FAILURES", "ERROR_MIN_CALLS", "ERROR_WINDOW", "HISTORY", "MARGIN", "RECENT_SECONDS",
           "AlertBook", "Alerts", "Event", "Listener", "Probes", "key_of", "machine_probes"]
