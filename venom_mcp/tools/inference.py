"""Using a model: chat, per-model generation settings, translation."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from .. import conversation as chat_args
from ..conversation import DEFAULT_MAX_TOKENS
from ..records import ChatResult, ModelConfig, ModelName, Overrides, TranslateResult
from .arguments import Name
from .meta import ToolBase, tool


class InferenceTools(ToolBase):
    @tool("Chat with a model", open_world=True)
    async def chat(
        self, prompt: chat_args.Prompt = None, messages: chat_args.Messages = None, system: chat_args.System = None,
        model: Annotated[ModelName | None, Field(default=None, description="An installed or cloud model, for "
                                                 "this request only.")] = None,
        max_tokens: chat_args.MaxTokens = DEFAULT_MAX_TOKENS, temperature: chat_args.Temperature = None,
        top_p: chat_args.TopP = None, top_k: chat_args.TopK = None, seed: chat_args.Seed = None,
        stop: chat_args.Stop = None, repeat_penalty: chat_args.RepeatPenalty = None, num_ctx: chat_args.NumCtx = None,
        response_format: chat_args.ResponseFormat = None, tools: chat_args.Tools = None,
        tool_choice: chat_args.ToolChoiceArg = None, think: chat_args.Think = None,
        sensitive: chat_args.Sensitive = False,
    ) -> ChatResult:
        """Ask the active model (or `model`) a prompt or a conversation. Parameters the runtime does not take are
        named in `warnings`; response_format fills `parsed`, tools give `tool_calls`, think gives `thinking`; on
        failure VENOM_FALLBACK_ORDER is tried (`route_reason`)."""
        from ..services.chat import build as build_chat  # the chat service's modules load with the first chat

        request = build_chat(
            prompt=prompt, messages=messages, system=system, model=model, max_tokens=max_tokens,
            temperature=temperature, top_p=top_p, top_k=top_k, seed=seed, stop=stop, repeat_penalty=repeat_penalty,
            num_ctx=num_ctx, response_format=response_format, tools=tools, tool_choice=tool_choice, think=think,
            sensitive=sensitive)
        return await self.app.chat.ask(request)

    @tool("Per-model generation settings", idempotent=True)
    async def model_config(
        self, name: Name, set: Overrides = None,
        reset: Annotated[bool, Field(strict=True, description="Clear the overrides (with set: replace them).")] = False,
    ) -> ModelConfig:
        """A model's generation parameters and its own overrides (`set` stores, `reset` clears), which chat,
        translate and the gateway use where a request gives none."""
        return await self.app.model_config.config(name, set, reset)


    @tool("Translate text", open_world=True)
    async def translate(
        self,
        text: Annotated[str, Field(max_length=1_000_000)],
        target_lang: Annotated[str, Field(description="pl, en or de.")],
        source_lang: Annotated[str | None, Field(default=None, description="Omit to detect.")] = None,
        use_cache: Annotated[bool, Field(strict=True)] = True,
    ) -> TranslateResult:
        """Translate text of any length through the active model, in chunks that fit its context; code, URLs and
        Markdown stay as they are."""
        return await self.app.translation.translate(text, target_lang, source_lang, use_cache)
