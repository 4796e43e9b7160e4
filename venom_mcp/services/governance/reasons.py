"""Reason codes of refused and failed calls, and the masking of secrets in anything that leaves the process."""

from __future__ import annotations

import re

from ...errors import UpstreamError
from ...records import ReasonCode

_KEY_IN_URL = re.compile(r"([?&](?:key|api_key|apikey|token|access_token)=)[^&\s\"']+", re.IGNORECASE)


class GateClosed(UpstreamError):
    """A request refused before it was sent: rate limit or budget."""

    def __init__(self, reason: ReasonCode, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def mask(text: str, secrets: list[str]) -> str:
    """Hide API keys and tokens: the configured values anywhere, and any key=... in a URL."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return _KEY_IN_URL.sub(r"\1***", text)


def classify(exc: BaseException) -> ReasonCode:
    """The reason code of a failed call, from the exception the SDKs and our adapters raise."""
    if isinstance(exc, GateClosed):
        return exc.reason
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    if status in (401, 403) or "Authentication" in name or "PermissionDenied" in name:
        return "AUTH_ERROR"
    if status == 404 or "NotFound" in name:
        return "MODEL_NOT_FOUND"
    if status == 429 or "RateLimit" in name:
        return "RATE_LIMITED"
    if isinstance(exc, TimeoutError) or "Timeout" in name:
        return "TIMEOUT"
    return "PROVIDER_DOWN"
