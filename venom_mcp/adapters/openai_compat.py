"""OpenAI-compatible servers (vLLM, llama.cpp, OpenAI, Gemini): what they serve (chat comes with runtimes)."""

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


# Generation parameters per runtime, in one place: our name -> the runtime's name (None: not supported there).
PARAMETER_NAMES: dict[str, dict[str, str | None]] = {
    "ollama": {"max_tokens": "num_predict", "temperature": "temperature", "top_p": "top_p",
               "repeat_penalty": "repeat_penalty", "seed": "seed"},
    "vllm": {"max_tokens": "max_tokens", "temperature": "temperature", "top_p": "top_p",
             "repeat_penalty": "repetition_penalty", "seed": "seed"},
    "llamacpp": {"max_tokens": "max_tokens", "temperature": "temperature", "top_p": "top_p",
                 "repeat_penalty": "repeat_penalty", "seed": "seed"},
    "openai": {"max_tokens": "max_tokens", "temperature": "temperature", "top_p": "top_p",
               "repeat_penalty": None, "seed": "seed"},
    "google": {"max_tokens": "max_tokens", "temperature": "temperature", "top_p": "top_p",
               "repeat_penalty": None, "seed": None},
}


def map_parameters(runtime: str, params: dict[str, object]) -> dict[str, object]:
    """Rename generation parameters for `runtime`, dropping the ones it does not take and the unset ones."""
    names = PARAMETER_NAMES[runtime]
    return {names[k] or "": v for k, v in params.items() if v is not None and names.get(k)}


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
        """One chat completion: (text, prompt tokens, completion tokens). Parameters outside the OpenAI set
        (repetition_penalty...) go in extra_body."""
        standard = {"max_tokens", "temperature", "top_p", "seed"}
        request: dict[str, Any] = {"model": model, "messages": messages}
        request.update({k: v for k, v in params.items() if k in standard})
        extra = {k: v for k, v in params.items() if k not in standard}
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
