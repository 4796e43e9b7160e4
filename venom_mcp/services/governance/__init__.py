"""The gate every language-model call passes: rate limits, cost budgets, reason codes, request history,
per-provider and per-model metrics, the spend ledger that keeps them over restarts, and masking of secrets in
anything that leaves the process.

A package by concern: gate.py (admit and finish), budgets.py, ledger.py (the file), usage.py (what it adds up),
reasons.py (reason codes, masking)."""

from __future__ import annotations

from .budgets import Budgets
from .gate import DEFAULT_PRICES, HISTORY, LOCAL_RUNTIMES, Governance
from .ledger import Ledger
from .reasons import GateClosed, classify, mask
from .usage import LATENCY_WINDOW, Call, Tally

__all__ = ["DEFAULT_PRICES", "HISTORY", "LATENCY_WINDOW", "LOCAL_RUNTIMES", "Budgets", "Call", "GateClosed",
           "Governance", "Ledger", "Tally", "classify", "mask"]
