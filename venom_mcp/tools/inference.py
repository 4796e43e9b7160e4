"""Using a model: chat, per-model generation settings, translation."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from .. import conversation as chat_args
from ..records import (
    ChatResult,
    ModelName,
    TranslateResult,
)
from ..services.chat import build as build_chat
from ..services.chat.request import DEFAULT_MAX_TOKENS
from ..services.model_config import ModelConfig, Overrides
from .arguments import Name
from .meta import ToolBase, tool


class InferenceTools(ToolBase):
    @tool("Chat with a model", open_world=True)
    async def chat(
        self, prompt: chat_args.Prompt = None, messages: chat_args.Messages = None, system: chat_args.System = None,
        model: Annotated[ModelName | None, Field(default=None, description="Any installed model, or a cloud model "
                                                 "(gpt-4o-mini, gemini-2.0-flash), for this request only.")] = None,
        max_tokens: chat_args.MaxTokens = DEFAULT_MAX_TOKENS, temperature: chat_args.Temperature = None,
        top_p: chat_args.TopP = None, top_k: chat_args.TopK = None, seed: chat_args.Seed = None,
        stop: chat_args.Stop = None, repeat_penalty: chat_args.RepeatPenalty = None, num_ctx: chat_args.NumCtx = None,
        response_format: chat_args.ResponseFormat = None, tools: chat_args.Tools = None,
        tool_choice: chat_args.ToolChoiceArg = None, think: chat_args.Think = None,
        sensitive: chat_args.Sensitive = False,
    ) -> ChatResult:
        """Ask a model: one prompt, or a conversation (messages), and get its answer with the provider, model and
        endpoint that gave it.

        The active model answers unless `model` names another installed model or a cloud model (the active runtime
        stays as it is). Parameters a runtime does not take are dropped and named in `warnings`. response_format
        gives JSON in `parsed`, checked against a schema; tools let the model ask for function calls (`tool_calls`);
        think turns reasoning on, off or to a level (`thinking`). A prompt too long for the model's context is
        refused before sending. If the runtime fails, VENOM_FALLBACK_ORDER is tried; `route_reason` says why a
        runtime answered.
        """
        request = build_chat(
            prompt=prompt, messages=messages, system=system, model=model, max_tokens=max_tokens,
            temperature=temperature, top_p=top_p, top_k=top_k, seed=seed, stop=stop, repeat_penalty=repeat_penalty,
            num_ctx=num_ctx, response_format=response_format, tools=tools, tool_choice=tool_choice, think=think,
            sensitive=sensitive)
        return await self.app.chat.ask(request)

    @tool("Per-model generation settings", idempotent=True)
    async def model_config(
        self, name: Name, set: Overrides = None,
        reset: Annotated[bool, Field(strict=True, description="Clear the model's overrides; with set, replace them "
                                                              "by set.")] = False,
    ) -> ModelConfig:
        """The generation parameters a model's runtime takes (type, range, default, description) and the model's
        own overrides of them; `set` stores overrides, `reset` clears them.

        Works for installed models and cloud model names. Each value is checked against the runtime's parameter
        table: an unknown name, a value out of range or a parameter the runtime does not take is refused, naming
        what is valid, and nothing is stored. Chat, translate and the gateway use a model's overrides where the
        request gives no value: an argument given > the model's override > the default (max_tokens 256).
        """
        return await self.app.model_config.config(name, set, reset)


    @tool("Translate text", open_world=True)
    async def translate(
        self,
        text: Annotated[str, Field(max_length=1_000_000, description="The text; Markdown and code are kept.")],
        target_lang: Annotated[str, Field(description="pl, en or de.")],
        source_lang: Annotated[str | None, Field(default=None, description="pl, en or de; omit to detect.")] = None,
        use_cache: Annotated[bool, Field(strict=True, description="Serve and store translations in the cache.")] = True,
    ) -> TranslateResult:
        """Translate a text of any length through the active model (with its fallbacks).

        Long texts are split at paragraphs and sentences into chunks that fit the model's context, translated
        concurrently and joined in order; code blocks, inline code, URLs and Markdown structure stay as they
        are. `chunks` says how many pieces were sent; `cached` is true when the answer came from the cache.
        """
        return await self.app.translation.translate(text, target_lang, source_lang, use_cache)
