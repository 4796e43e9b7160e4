"""OpenAI-compatible servers (vLLM, llama.cpp, OpenAI, Gemini): what they serve (chat comes with runtimes)."""

from __future__ import annotations

import httpx

from ..errors import UpstreamError


async def served_models(client: httpx.AsyncClient, endpoint: str, wait_seconds: float = 5) -> list[str]:
    """The model ids `GET {endpoint}/models` lists; UpstreamError when the server does not answer properly."""
    try:
        response = await client.get(f"{endpoint}/models", timeout=wait_seconds)
        response.raise_for_status()
        return [str(m["id"]) for m in response.json().get("data", [])]
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
        kind = type(exc).__name__
        raise UpstreamError(f"{endpoint} is not answering as an OpenAI-compatible server ({kind})") from exc
