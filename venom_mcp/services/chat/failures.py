"""What went wrong along a chat's plan, kept with each attempt's reason code, so that the error when every runtime
failed can say whether they were refused (rate limits, budgets), could not be reached (down, timed out, not
configured) or answered badly."""

from __future__ import annotations

from collections.abc import Iterable

from ...errors import ConfigError, Unreachable, UpstreamError, UpstreamTimeout
from ...records import ReasonCode

REFUSALS: frozenset[str] = frozenset({"RATE_LIMITED", "BUDGET_EXCEEDED"})


class ChatFailed(UpstreamError):
    """No runtime of the plan answered. `reasons`: the reason code of each attempt that was refused or failed,
    in order (none when every runtime was skipped before being asked)."""

    def __init__(self, message: str, reasons: Iterable[ReasonCode], unreachable: bool = False) -> None:
        super().__init__(message)
        self.reasons: tuple[ReasonCode, ...] = tuple(reasons)
        self.unreachable = unreachable  # no runtime that was asked could be reached (or was configured)

    @property
    def refused(self) -> bool:
        """Every attempt was refused by a rate limit or a budget: nothing was sent."""
        return bool(self.reasons) and all(reason in REFUSALS for reason in self.reasons)


class Failures(list[str]):
    """The notes of one request's attempts (skipped, refused, failed) and their reason codes."""

    def __init__(self, notes: Iterable[str] = ()) -> None:
        super().__init__(notes)
        self.reasons: list[ReasonCode] = []
        self.reached: list[bool] = []  # per failed attempt: whether the runtime answered at all

    def add(self, note: str, reason: ReasonCode | None, error: BaseException | None = None) -> None:
        self.append(note)
        if reason is not None:
            self.reasons.append(reason)
        if error is not None:
            self.reached.append(not unreachable(error))

    def error(self, message: str) -> ChatFailed:
        return ChatFailed(message, self.reasons, bool(self.reached) and not any(self.reached))


def unreachable(error: BaseException) -> bool:
    """Whether a failed call never reached its runtime: refused, timed out, or not configured (no API key); not an
    error the runtime answered. The `openai` SDK's connection errors are told by name (adapters own that SDK)."""
    if isinstance(error, Unreachable | UpstreamTimeout | ConfigError | TimeoutError):
        return True
    return any(kind.__name__ in ("APIConnectionError", "ConnectError", "ConnectTimeout")
               for kind in type(error).__mro__)
