"""The one translation of failed exchanges with outside systems into our errors (errors.py), for every adapter.

An adapter names the system as its messages should ("Ollama at http://127.0.0.1:11434") and the setting that says
where it is (OLLAMA_HOST); this module decides what the failure is and says it the same way everywhere:

- no answer in time: UpstreamTimeout, "... did not answer in time (SETTING)";
- no connection (refused, no such host, TLS): Unreachable, "... is unreachable (ConnectError: ...); <the fix>";
- a streamed answer that started and then broke off: UpstreamError, "<what> broke off: ...";
- an HTTP error status: NotFound for a 404 the adapter can name, else UpstreamError "... answered HTTP 503 ...",
  with the server's own error text when it sent one (JSON `error`/`detail`/`message`, or plain text).

Hugging Face Hub calls go through huggingface_hub, whose errors are its own: `hub_failure` maps those.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from ..errors import NotFound, Unreachable, UpstreamError, UpstreamTimeout, VenomError

ERROR_TEXT_MAX = 200


@dataclass(frozen=True)
class Upstream:
    """An outside HTTP system, as our errors name it."""

    name: str  # "Ollama at http://127.0.0.1:11434", "the Ollama library at https://ollama.com"
    setting: str = ""  # the setting that says where it is: OLLAMA_HOST
    fix: str = ""  # what to do when it cannot be reached (default: check the network or the setting)

    def unreachable(self, exc: httpx.HTTPError) -> UpstreamError:
        """A request that got no answer: UpstreamTimeout when it timed out, Unreachable otherwise."""
        if isinstance(exc, httpx.TimeoutException):
            return UpstreamTimeout(f"{self.name} did not answer in time" + (f" ({self.setting})" if self.setting else
                                                                             ""))
        fix = self.fix or (f"check the network or {self.setting}" if self.setting else "check that it runs")
        return Unreachable(f"{self.name} is unreachable ({_kind(exc)}); {fix}")

    def broke_off(self, exc: httpx.HTTPError, what: str) -> UpstreamError:
        """A streamed exchange (`what`: "Ollama's answer", "the pull of llama3") that failed: `unreachable` when it
        never got going (no connection, or no answer in time), else an answer that broke off."""
        if isinstance(exc, httpx.ConnectError | httpx.TimeoutException):
            return self.unreachable(exc)
        return UpstreamError(f"{what} broke off: {_kind(exc)}")

    def refused(self, response: httpx.Response, asked: str = "") -> UpstreamError:
        """An HTTP error status (read the body first when streaming), with the server's own error text."""
        text = error_text(response)
        return UpstreamError(f"{self.name} answered HTTP {response.status_code}" + (f" for {asked}" if asked else "")
                             + (f": {text}" if text else ""))

    def check(self, response: httpx.Response, asked: str = "", not_found: str | None = None) -> None:
        """Raise for any answer but a 2xx: NotFound(`not_found`) for a 404 when given, else `refused`."""
        if response.is_success:
            return
        if response.status_code == 404 and not_found is not None:
            raise NotFound(not_found)
        raise self.refused(response, asked)


def error_text(response: httpx.Response) -> str:
    """The error message a server put in its answer: a JSON body's `error` (or `detail`, `message`), or a plain-text
    body; never an HTML page. Shortened to ERROR_TEXT_MAX characters."""
    try:
        data = response.json()
    except (ValueError, httpx.ResponseNotRead):
        kind = response.headers.get("content-type", "")
        try:
            return response.text.strip()[:ERROR_TEXT_MAX] if kind.startswith("text/plain") else ""
        except httpx.ResponseNotRead:
            return ""
    if isinstance(data, dict):
        for key in ("error", "detail", "message"):
            value = data.get(key)
            if isinstance(value, dict):  # {"error": {"message": ...}}, as OpenAI-compatible servers answer
                value = value.get("message")
            if isinstance(value, str) and value:
                return value[:ERROR_TEXT_MAX]
    return str(data)[:ERROR_TEXT_MAX]


def _kind(exc: BaseException) -> str:
    detail = str(exc).strip()
    return f"{type(exc).__name__}: {detail[:ERROR_TEXT_MAX]}" if detail else type(exc).__name__


def hub_failure(exc: Exception, endpoint: str, repo_id: str, path: str | None = None) -> VenomError:
    """A huggingface_hub call about one repo (or one file of it) that failed: gated, unknown, or the Hub failing."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(exc, GatedRepoError):
        return UpstreamError(f"{repo_id} is gated: accept its terms on the Hub and set HF_TOKEN to a token with access")
    if isinstance(exc, RepositoryNotFoundError | RevisionNotFoundError):
        return NotFound(f"no model {repo_id!r} on the Hub at {endpoint} (or it is private)")
    if isinstance(exc, EntryNotFoundError):
        return NotFound(f"no {path or 'such file'} in {repo_id} on the Hub at {endpoint}")
    doing = f"reading {path} of {repo_id}" if path else f"asking about {repo_id}"
    return UpstreamError(f"the Hugging Face Hub at {endpoint} failed {doing} ({_kind(exc)}); check HF_ENDPOINT and "
                         "the network, then try again")


__all__ = ["Upstream", "error_text", "hub_failure"]
