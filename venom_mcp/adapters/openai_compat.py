"""OpenAI-compatible servers (vLLM, llama.cpp, OpenAI, Gemini): what they serve, and one chat completion."""

from __future__ import annotations

from typing import Any

import httpx

from ..errors import UpstreamError
from .reply import Reply, split_thinking


async def served_models(client: httpx.AsyncClient, endpoint: str, wait_seconds: float = 5) -> list[str]:
    """The model ids `GET {endpoint}/models` lists as ready to answer; UpstreamError when the server does not answer
    properly. llama-server in router mode lists every model it could load, each with a `status`: only a loaded one
    (or one asleep, which wakes on the next request) is served; unloaded, loading, downloading or failed ones are not.
    """
    try:
        response = await client.get(f"{endpoint}/models", timeout=wait_seconds)
        response.raise_for_status()
        return [str(m["id"]) for m in response.json().get("data", []) if _ready(m.get("status"))]
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
        kind = type(exc).__name__
        raise UpstreamError(f"{endpoint} is not answering as an OpenAI-compatible server ({kind})") from exc


def _ready(status: object) -> bool:
    if not isinstance(status, dict):  # a single-model server, vLLM or a cloud: every listed model is served
        return True
    return status.get("value") in ("loaded", "sleeping") and not status.get("failed")


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
                   params: dict[str, object]) -> Reply:
        """One chat completion. Parameters outside the SDK's arguments (repetition_penalty, top_k...) go in
        extra_body. Reasoning comes as `reasoning_content` (llama.cpp, DeepSeek, older vLLM) or `reasoning` (newer
        vLLM), fields the SDK keeps as extras, or inline in `<think>` tags when the server has no reasoning parser."""
        request: dict[str, Any] = {"model": model, "messages": messages}
        request.update({k: v for k, v in params.items() if k in STANDARD})
        extra = {k: v for k, v in params.items() if k not in STANDARD}
        if extra:
            request["extra_body"] = extra
        response = await self.get(base_url, api_key).chat.completions.create(**request)
        usage = response.usage
        choice = response.choices[0]
        extras = choice.message.model_extra or {}
        reasoning = extras.get("reasoning_content") or extras.get("reasoning")
        text, thinking = split_thinking(str(choice.message.content or ""), str(reasoning) if reasoning else None)
        return Reply(text=text, thinking=thinking, finish_reason=choice.finish_reason,
                     prompt_tokens=usage.prompt_tokens if usage else None,
                     completion_tokens=usage.completion_tokens if usage else None)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
