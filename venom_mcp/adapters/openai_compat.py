"""OpenAI-compatible servers (vLLM, llama.cpp, OpenAI, Gemini): what they serve, and one chat completion."""

from __future__ import annotations

from typing import Any

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


# The parameters the OpenAI SDK takes as arguments; the runtime table says which ones each runtime accepts.
STANDARD = frozenset({"max_tokens", "temperature", "top_p", "seed", "stop"})


class OpenAIClients:
    """One `openai.AsyncOpenAI` per (base URL, key), so connections are reused between calls."""

    def __init__(self, request_seconds: float) -> None:
        self._seconds = request_seconds
        self._clients: dict[tuple[str, str], Any] = {}

    def get(self, base_url: str, api_key: str | None) -> Any:
        from openai import AsyncOpenAI

        key = (base_url, api_key or "")
        if key not in self._clients:
            # max_retries=0: fallback to another runtime is our policy, not the SDK's silent retry.
            self._clients[key] = AsyncOpenAI(
                base_url=base_url, api_key=api_key or "not-needed", timeout=self._seconds, max_retries=0
            )
        return self._clients[key]

    async def chat(self, *, base_url: str, api_key: str | None, model: str, messages: list[dict[str, str]],
                   params: dict[str, object]) -> tuple[str, int | None, int | None]:
        """One chat completion: (text, prompt tokens, completion tokens). Parameters outside the SDK's arguments
        (repetition_penalty, top_k...) go in extra_body."""
        request: dict[str, Any] = {"model": model, "messages": messages}
        request.update({k: v for k, v in params.items() if k in STANDARD})
        extra = {k: v for k, v in params.items() if k not in STANDARD}
        if extra:
            request["extra_body"] = extra
        response = await self.get(base_url, api_key).chat.completions.create(**request)
        usage = response.usage
        return (str(response.choices[0].message.content or ""), usage.prompt_tokens if usage else None,
                usage.completion_tokens if usage else None)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
