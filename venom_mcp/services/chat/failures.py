"""What went wrong along a chat's plan, kept with each attempt's reason code, so that the error when every runtime
failed can say whether they were refused (rate limits, budgets) or broke (down, timeout, bad answer)."""

from __future__ import annotations

from collections.abc import Iterable

from ...errors import UpstreamError
from ...records import ReasonCode

REFUSALS: frozenset[str] = frozenset({"RATE_LIMITED", "BUDGET_EXCEEDED"})


class ChatFailed(UpstreamError):
    """No runtime of the plan answered. `reasons`: the reason code of each attempt that was refused or failed,
    in order (none when every runtime was skipped before being asked)."""

    def __init__(self, message: str, reasons: Iterable[ReasonCode]) -> None:
        super().__init__(message)
        self.reasons: tuple[ReasonCode, ...] = tuple(reasons)

    @property
    def refused(self) -> bool:
        """Every attempt was refused by a rate limit or a budget: nothing was sent."""
        return bool(self.reasons) and all(reason in REFUSALS for reason in self.reasons)


class Failures(list[str]):
    """The notes of one request's attempts (skipped, refused, failed) and their reason codes."""

    def __init__(self, notes: Iterable[str] = ()) -> None:
        super().__init__(notes)
        self.reasons: list[ReasonCode] = []

    def add(self, note: str, reason: ReasonCode | None) -> None:
        self.append(note)
        if reason is not None:
            self.reasons.append(reason)

    def error(self, message: str) -> ChatFailed:
        return ChatFailed(message, self.reasons)
