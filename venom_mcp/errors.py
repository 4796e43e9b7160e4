"""One exception hierarchy. Each message says what went wrong and what to do about it.

Like huggingface_hub's errors, each class also subclasses the matching built-in, so callers that
only know `ValueError` or `ConnectionError` still catch the right thing. FastMCP turns any of these
raised by a tool into an MCP error result (`isError: true`) carrying the message.
"""

from __future__ import annotations


class VenomError(Exception):
    """Base class: a failure to report to the user as it is."""


class InvalidArgument(VenomError, ValueError):
    """A bad argument; the message names the valid values."""


class NotFound(VenomError, LookupError):
    """An unknown model, operation or server."""


class Conflict(VenomError):
    """The request contradicts the current state (for example removing the active model)."""


class QuotaExceeded(VenomError):
    """The storage quota (MODELS_MAX_DISK_GB) would be exceeded."""


class UpstreamError(VenomError, ConnectionError):
    """An outside system (Hub, Ollama, a runtime) could not be reached or answered badly."""


class UpstreamTimeout(UpstreamError, TimeoutError):
    """An outside system did not answer in time."""


class Unreachable(UpstreamError):
    """An outside system could not be reached at all (connection refused, no such host)."""


class LayoutChanged(UpstreamError):
    """A page we read (the Ollama library) no longer has the structure we parse."""


class StateError(VenomError):
    """A state file under VENOM_HOME is unreadable."""


class ConfigError(VenomError):
    """The configuration cannot work (for example an exposed HTTP bind without a token)."""
