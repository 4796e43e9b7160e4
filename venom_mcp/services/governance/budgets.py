"""Budgets: hard ones refuse a call (BUDGET_EXCEEDED), soft ones warn; per provider and over all providers, counted
over VENOM_BUDGET_PERIOD (this UTC day, this UTC month, or everything in the ledger)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from ...config import Settings
from ...errors import ConfigError
from ...records import RUNTIME_ALIASES

_PERIOD_TEXT = {"day": " today (UTC)", "month": " this month (UTC)", "total": ""}


def pairs(spec: str) -> dict[str, str]:
    """'openai=5, google=2' -> {'openai': '5', 'google': '2'}; runtime aliases (gpt, gem) resolved."""
    found = {}
    for item in spec.split(","):
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if sep and key:
            found[RUNTIME_ALIASES.get(key, key)] = value.strip()
    return found


def _amounts(spec: str, variable: str) -> dict[str, float]:
    amounts = {}
    for provider, value in pairs(spec).items():
        try:
            amounts[provider] = float(value)
        except ValueError:
            raise ConfigError(f"{variable}: {provider}={value!r} is not an amount in USD; write e.g. "
                              f"'{provider}=5'") from None
    return amounts


class Budgets:
    def __init__(self, settings: Settings) -> None:
        self.hard = _amounts(settings.provider_budgets_usd, "VENOM_PROVIDER_BUDGETS_USD")
        self.soft = _amounts(settings.provider_budgets_soft_usd, "VENOM_PROVIDER_BUDGETS_SOFT_USD")
        self.total = settings.budget_usd
        self.total_soft = settings.budget_soft_usd
        self.period = settings.budget_period

    @property
    def any(self) -> bool:
        return bool(self.hard or self.soft) or self.total is not None or self.total_soft is not None

    def since(self, today: date) -> str | None:
        """The first day (ISO) the period counts, None for everything."""
        if self.period == "day":
            return today.isoformat()
        if self.period == "month":
            return today.replace(day=1).isoformat()
        return None

    def check(self, provider: str, spent: Callable[[str | None], float]) -> tuple[str | None, list[str]]:
        """(the refusal's text when a hard budget is spent, else None; the soft budgets' warnings)."""
        period = _PERIOD_TEXT[self.period]
        mine, everything = spent(provider), spent(None)
        hard = self.hard.get(provider)
        if hard is not None and mine >= hard:
            return (f"{provider} spent ${mine:.4f} of its ${hard:g} budget{period} (VENOM_PROVIDER_BUDGETS_USD)",
                    [])
        if self.total is not None and everything >= self.total:
            return f"${everything:.4f} spent of the ${self.total:g} budget{period} (VENOM_BUDGET_USD)", []
        warnings = []
        soft = self.soft.get(provider)
        if soft is not None and mine >= soft:
            warnings.append(f"soft budget reached: {provider} spent ${mine:.4f} of ${soft:g}{period} "
                            "(VENOM_PROVIDER_BUDGETS_SOFT_USD)")
        if self.total_soft is not None and everything >= self.total_soft:
            warnings.append(f"soft budget reached: ${everything:.4f} spent of ${self.total_soft:g}{period} "
                            "(VENOM_BUDGET_SOFT_USD)")
        return None, warnings
