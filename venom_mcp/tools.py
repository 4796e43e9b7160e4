"""The tool catalog: one typed async function per tool of SPEC section 4, thin over the services.

The MCP server registers these methods as they are (FastMCP builds the input schema from the
signature and the outputSchema from the return type); the Semantic Kernel skills are generated from
the same catalog, so the two faces cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from mcp.server.fastmcp import Context
from pydantic import AfterValidator, Field

from . import conversation as chat_args
from .errors import VenomError
from .records import (
    ActiveRuntime,
    AlertList,
    CatalogResult,
    ChatResult,
    Fit,
    ImportedServer,
    ImportedServers,
    InstalledModels,
    ModelCapabilities,
    ModelName,
    NewsResult,
    Operation,
    OperationList,
    ProviderMetricsList,
    ProviderName,
    RemovedServer,
    RequestHistory,
    RuntimeName,
    RuntimeStatus,
    ServerName,
    ServerStatus,
    SlashResult,
    TranslateResult,
    UnloadResult,
    Usage,
)
from .services.chat import build as build_chat
from .services.chat.request import DEFAULT_MAX_TOKENS
from .services.model_config import ModelConfig, Overrides
from .services.profile import mark_catalog

if TYPE_CHECKING:
    from .app import App

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ToolMeta:
    title: str
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = False


def tool(title: str, **hints: bool) -> Callable[[F], F]:
    """Mark a catalog method as a tool, with its MCP annotations."""

    def mark(fn: F) -> F:
        fn.__venom_tool__ = ToolMeta(title=title, **hints)  # type: ignore[attr-defined]
        return fn

    return mark


def _month(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise ValueError(f"month must be YYYY-MM, for example 2025-12 (got {value!r})")
    return value


Provider = Annotated[
    ProviderName, Field(description="Where models come from: 'huggingface' (alias 'hf') or 'ollama'.")
]
Query = Annotated[
    str | None, Field(default=None, max_length=200, description="Words to search for; omit to browse.")
]
Name = Annotated[
    ModelName,
    Field(description="Model name: Ollama 'llama3.2:1b', Hugging Face 'org/repo' or 'org/repo:Q4_K_M' (GGUF)."),
]
OptionalRuntime = Annotated[
    RuntimeName | None,
    Field(default=None, description="ollama, vllm or llamacpp; omit to pick the one the model needs."),
]
OperationId = Annotated[str, Field(min_length=1, max_length=64, description="An operation_id from install_model.")]
Refresh = Annotated[
    bool,
    Field(strict=True, description="Ask the source now instead of the cache (at most once every 10 s per source); "
                                   "when it fails the cached answer comes back with stale=true."),
]
Month = Annotated[
    str | None,
    AfterValidator(_month),
    Field(default=None, description="Papers of one month, as YYYY-MM; omit for the latest."),
]


class ToolCatalog:
    def __init__(self, app: App) -> None:
        self.app = app

    def tools(self) -> Iterator[tuple[Callable[..., Any], ToolMeta]]:
        """The bound tool methods with their metadata, in declaration order."""
        for name in type(self).__dict__:
            meta = getattr(getattr(type(self), name), "__venom_tool__", None)
            if isinstance(meta, ToolMeta):
                yield getattr(self, name), meta

    @tool("Search the model catalogs", read_only=True, open_world=True)
    async def list_models(
        self,
        provider: Provider,
        query: Query = None,
        limit: Annotated[int, Field(strict=True, ge=1, le=100, description="How many models, 1..100.")] = 20,
        refresh: Refresh = False,
    ) -> CatalogResult:
        """Search or browse installable models on the Hugging Face Hub or in the Ollama library.

        Use this to find a model to install: each row gives the name to pass to install_model and the
        runtime that serves it. Without `query` it lists the most downloaded (Hub) or popular (Ollama)
        models. If the source is unreachable the last good answer is returned with stale=true and error set.
        """
        return mark_catalog(self.app.settings, await self.app.catalog.list_models(
            provider, query, limit, refresh=refresh))

    @tool("Trending models", read_only=True, open_world=True)
    async def trending_models(
        self,
        provider: Provider,
        limit: Annotated[int, Field(strict=True, ge=1, le=100, description="How many models, 1..100.")] = 12,
        refresh: Refresh = False,
    ) -> CatalogResult:
        """The models trending now on the Hugging Face Hub, or the most popular in the Ollama library.

        Use this when the user asks what is new or popular. Results are cached for VENOM_CACHE_TTL_SECONDS;
        stale=true means the source failed and cached (or bundled) data is shown.
        """
        return mark_catalog(self.app.settings, await self.app.catalog.trending(provider, limit, refresh=refresh))

    @tool("AI news from the Hub", read_only=True, open_world=True)
    async def model_news(
        self,
        kind: Annotated[
            Literal["blog", "papers"], Field(description="'blog' (Hub blog) or 'papers' (daily papers).")
        ] = "blog",
        limit: Annotated[int, Field(strict=True, ge=1, le=50, description="How many items, 1..50.")] = 5,
        month: Month = None,
        lang: Annotated[
            Literal["pl", "en", "de"] | None,
            Field(default=None, description="Translate titles and summaries into pl, en or de."),
        ] = None,
        refresh: Refresh = False,
    ) -> NewsResult:
        """Recent Hugging Face blog posts, or daily papers (optionally of one month, YYYY-MM).

        Use this for 'what is new in AI' questions. Summaries are plain text, trimmed at a word boundary.
        With `lang`, titles and summaries are translated through the active model; where that fails the
        original text stays and `error` says so.
        """
        if month is not None and kind != "papers":
            from .errors import InvalidArgument

            raise InvalidArgument("month applies to kind='papers' only; drop month or set kind='papers'")
        news = await self.app.catalog.news(kind, limit, month, refresh=refresh)
        return await self.app.translation.translate_news(news, lang) if lang else news

    # ---- model lifecycle ------------------------------------------------------------------------

    @tool("Installed models", read_only=True)
    async def installed_models(self, runtime: OptionalRuntime = None) -> InstalledModels:
        """The models installed locally, with the active one marked: what venom-mcp installed, plus (status
        "external") what Ollama holds and the Hugging Face snapshots already in MODELS_CACHE_DIR.

        Use this before activate_model or remove_model to see exact names. `warnings` says when part of
        the list could not be read (Ollama down, a corrupt manifest moved aside).
        """
        return await self.app.registry.installed(runtime)

    @tool("Install a model", open_world=True)
    async def install_model(
        self,
        name: Name,
        provider: Provider,
        ctx: Context,  # type: ignore[type-arg]
        runtime: OptionalRuntime = None,
        wait: Annotated[
            bool, Field(strict=True, description="Return only when the install ends, reporting progress.")
        ] = False,
        force: Annotated[bool, Field(strict=True, description="Install although check_fit says it will not fit "
                                                              "in memory (verdict no).")] = False,
        confirm: Annotated[bool, Field(strict=True, description="Confirm a large install (over 20 GB) for a "
                                                                "client that cannot be asked (later use).")] = False,
    ) -> Operation:
        """Download a model: `ollama pull` for Ollama, or the Hub files a runtime needs for Hugging Face.

        Returns the Operation at once (poll operation_status) unless wait=true. Progress is in real bytes.
        A Hugging Face install is checked against MODELS_MAX_DISK_GB before anything is written, resumes
        partial downloads, and verifies sha256. Installing a model that is already being installed returns
        the running operation. It is checked against the free memory first (with what check_fit read, else the
        files' sizes): a model that will not fit is refused with the numbers and what would fit, unless
        force=true; one that runs only on the CPU or partly on the GPU is installed with a warning in the
        operation's message.
        """
        op = await self.app.registry.install(name, provider, runtime, force)
        if not wait:
            return op
        return await self._wait(op, ctx)

    async def _wait(self, op: Operation, ctx: Context) -> Operation:  # type: ignore[type-arg]
        async def relay(current: Operation) -> None:
            await ctx.report_progress(current.progress, 100, current.message)

        # Called without an MCP request (the Semantic Kernel face), there is no client to tell.
        done = await self.app.operations.wait(op.operation_id, relay if ctx is not None else None)
        if done.status != "completed":
            raise VenomError(
                f"{done.operation_type} of {done.model_name} {done.status}: {done.error or done.message} "
                f"(operation {done.operation_id})"
            )
        return done

    @tool("Operation status", read_only=True)
    async def operation_status(self, operation_id: OperationId) -> Operation:
        """The state of one install or removal: status, progress (0..100), bytes done/total, error."""
        return self.app.operations.get(operation_id)

    @tool("Recent operations", read_only=True)
    async def list_operations(
        self, limit: Annotated[int, Field(strict=True, ge=1, le=200, description="How many, newest first.")] = 10
    ) -> OperationList:
        """Recent installs and removals, newest first, including ones from before a restart."""
        operations = self.app.operations.recent(limit)
        return OperationList(operations=operations, count=len(operations))

    @tool("Cancel an operation", destructive=True)
    async def cancel_operation(self, operation_id: OperationId) -> Operation:
        """Stop a running install; nothing half-written enters the manifest, and a later install resumes."""
        return await self.app.operations.cancel(operation_id)

    @tool("Remove a model", destructive=True)
    async def remove_model(self, name: Name, provider: Annotated[
        ProviderName | None, Field(default=None, description="huggingface or ollama; omit to look it up.")
    ] = None) -> Operation:
        """Delete an installed model (Ollama delete, or the Hub cache's revisions of the repo).

        The active model cannot be removed: activate another one first. Returns the finished Operation.
        """
        op = await self.app.registry.remove(name, provider)
        return await self.app.operations.wait(op.operation_id)

    @tool("Activate a model", idempotent=True)
    async def activate_model(
        self, name: Name, runtime: RuntimeName,
        force: Annotated[bool, Field(strict=True, description="Activate although check_fit says it will not fit "
                                                              "in memory (verdict no).")] = False,
    ) -> ActiveRuntime:
        """Make an installed model the active one of a local runtime (ollama, vllm, llamacpp), verified.

        Waits for running requests and installs on the runtimes involved, stops the other local servers
        venom-mcp runs (and unloads an outside Ollama's models), starts or restarts the runtime with the model,
        and confirms that it lists the model and answers a 1-token completion; otherwise it rolls back and says
        why. Runs as an Operation (operation_type "activate"). Pairings: Ollama models on ollama; Hugging Face
        models on vllm, or llamacpp for GGUF. A model that will not fit in the free memory (check_fit) is refused
        unless force=true; CPU-only or partial GPU placement comes back as a warning in the message.
        """
        return await self.app.runtimes.activate(name, runtime, force)

    @tool("Will it fit?", read_only=True, open_world=True)
    async def check_fit(
        self,
        name: Name,
        provider: Annotated[ProviderName | None, Field(
            default=None, description="huggingface or ollama; omit to tell by the name (org/repo is the Hub).")] = None,
        runtime: OptionalRuntime = None,
        context_length: Annotated[int | None, Field(
            default=None, strict=True, ge=1, le=10_485_760,
            description="Tokens of context; omit for what the runtime would use (Ollama's profile, the "
                        "llama.cpp or vLLM command's setting, else its default).")] = None,
    ) -> Fit:
        """Will a model fit in this machine's memory, installed or not? An estimate from its metadata only.

        Reads a GGUF file's header with HTTP Range requests (never the weights), Ollama's /api/show, or a repo's
        config.json and safetensors parameter counts, and compares weights + KV cache + overhead with the VRAM
        and RAM free now. verdict: gpu (every layer in VRAM), gpu_partial (gpu_layers of them), cpu (RAM only)
        or no, with suggestions (a shorter context, a smaller quantization) when it does not fit.
        """
        return await self.app.fit.check(name, provider, runtime, context_length)

    @tool("Model capabilities", read_only=True)
    async def model_capabilities(self, name: Name) -> ModelCapabilities:
        """What an installed model supports: system role, tools, vision, context length, quantization.

        Works for models found outside venom-mcp too (read from Ollama's /api/show or the snapshot's files).
        Use it to adapt prompts (e.g. fold the system prompt into the user turn when system role is false).
        """
        entry = await self.app.registry.resolve(name)
        return ModelCapabilities(model_name=entry.name, capabilities=await self.app.registry.capabilities(name))

    # ---- runtimes --------------------------------------------------------------------------------

    @tool("Runtime status", read_only=True)
    async def runtime_status(self) -> RuntimeStatus:
        """The active runtime and the health of each local server the profile exposes.

        Each server reports online / degraded (answers, but serves another model name than configured, or
        slowly) / offline / switching, with pid, memory of its process tree, uptime and who manages it
        (systemd, process, or external: a process on its port that venom-mcp did not start, with its command).
        Ollama shows its tuning profile and where each value applies.
        """
        return await self.app.runtimes.status()

    @tool("Start, stop or restart a runtime server", destructive=True)
    async def control_runtime(
        self,
        server: Annotated[ServerName, Field(description="ollama, vllm or llamacpp.")],
        action: Annotated[Literal["start", "stop", "restart"], Field(description="start, stop or restart.")],
        force: Annotated[bool, Field(strict=True, description="stop: also stop a process on the port that venom-mcp "
                                                              "did not start (that pid only).")] = False,
    ) -> ServerStatus:
        """Start, stop or restart a local runtime server (systemd unit or managed process).

        Start waits until the server answers and reports the log tail if it fails; a server answering under
        another model name returns at once as degraded. A server started outside venom-mcp is stopped only
        with force=true. Starting a running server or stopping a stopped one changes nothing.
        """
        return await self.app.runtimes.control(server, action, force)

    @tool("Unload models and free memory", destructive=True)
    async def unload_models(
        self, runtime: Annotated[ServerName | None, Field(
            default=None, description="ollama, vllm or llamacpp; omit for all local runtimes.")] = None,
    ) -> UnloadResult:
        """Free the memory local runtimes hold: every model Ollama has loaded is unloaded (keep_alive 0, confirmed
        gone from /api/ps), and the vLLM/llama.cpp servers venom-mcp runs are stopped. Servers venom-mcp did not
        start are named in `errors`, not touched. The active model stays recorded; activate_model loads it again.
        """
        return await self.app.runtimes.unload(runtime)

    @tool("Switch the active runtime")
    async def switch_runtime(
        self,
        provider: Annotated[str, Field(max_length=40, description="ollama, vllm, llamacpp, openai (gpt) or google "
                                                                  "(gem, gemini).")],
        model: Annotated[ModelName | None, Field(default=None, description="The model to use there.")] = None,
    ) -> ActiveRuntime:
        """Make a local runtime or a cloud provider the one chat and translate use.

        Cloud providers need their API key (OPENAI_API_KEY, GOOGLE_API_KEY); a local runtime needs an installed
        model, which is activated (vLLM and llama.cpp are restarted with it).
        """
        return await self.app.runtimes.switch(provider, model)

    @tool("Run a slash command")
    async def run_slash_command(
        self, text: Annotated[str, Field(min_length=1, max_length=300, description="e.g. '/gem gemini-2.0-flash'.")]
    ) -> SlashResult:
        """Chat-style commands: /gpt [model], /gem [model], /ollama <model>, /vllm <model>, /llamacpp <model>,
        /status, /models. Anything else comes back with handled=false and the list of commands."""
        return await self.app.runtimes.slash(text)

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

    @tool("Resource usage", read_only=True)
    async def resource_usage(self) -> Usage:
        """CPU, memory, disk used by installed models against MODELS_MAX_DISK_GB, and GPU load and VRAM
        (null where there is no NVIDIA GPU)."""
        readings = await self.app.runtimes.usage()
        registry = self.app.registry
        total, used, percent = readings["memory"]
        gpu = readings["gpu"]
        disk = max(registry.disk_usage_gb(), round(readings["cache_bytes"] / 1e9, 3))
        limit = self.app.settings.models_max_disk_gb
        return Usage(
            disk_usage_gb=disk, disk_limit_gb=limit, disk_usage_percent=round(100 * disk / limit, 2),
            cpu_usage_percent=readings["cpu"], memory_total_gb=total, memory_used_gb=used,
            memory_usage_percent=percent,
            gpu_usage_percent=gpu.utilization_percent if gpu else None,
            vram_usage_mb=gpu.vram_used_mb if gpu else None, vram_total_mb=gpu.vram_total_mb if gpu else None,
            vram_usage_percent=round(100 * gpu.vram_used_mb / gpu.vram_total_mb, 2) if gpu and gpu.vram_total_mb
            else None,
            models_count=len(registry.manifest()),
        )

    # ---- governance ------------------------------------------------------------------------------

    @tool("Provider metrics", read_only=True)
    async def provider_metrics(self) -> ProviderMetricsList:
        """Per provider: requests, errors, success rate, latency p50/p95/p99, tokens, cost in USD and a health
        score (0..100) that falls when errors or latency rise; `models` gives the same per model. Counts and cost
        come from the spend ledger ($VENOM_HOME/ledger.jsonl), so they survive restarts; latencies are recent."""
        return ProviderMetricsList(providers=self.app.governance.metrics())

    @tool("Request history", read_only=True)
    async def request_history(
        self, limit: Annotated[int, Field(strict=True, ge=1, le=500, description="How many, newest first.")] = 20
    ) -> RequestHistory:
        """Every language-model request, newest first: provider, model, endpoint, start and finish (null while it
        runs), duration, status and error with its reason code (RATE_LIMITED, BUDGET_EXCEEDED, AUTH_ERROR, TIMEOUT,
        PROVIDER_DOWN, MODEL_NOT_FOUND)."""
        requests = self.app.governance.history(limit)
        return RequestHistory(requests=requests, count=len(requests))

    @tool("Alerts", read_only=True)
    async def alerts(
        self, limit: Annotated[int, Field(strict=True, ge=1, le=200, description="How many of each list, newest "
                                                                                 "first.")] = 20
    ) -> AlertList:
        """Alerts in force and the latest ones: RAM, VRAM, the disk quota of installed models, the active local
        runtime offline or degraded, a failed model call (naming provider, model and endpoint) and a provider's
        error rate. Raised at VENOM_ALERT_RAM_PERCENT / VENOM_ALERT_VRAM_PERCENT / VENOM_ALERT_DISK_PERCENT /
        VENOM_ALERT_ERROR_RATE_PERCENT, cleared only 5 points below; a failed call's alert clears when that model
        answers again. Connected clients also get each one as a log notification (warning raised, info cleared)."""
        return self.app.alerts.report(limit)

    # ---- translation -----------------------------------------------------------------------------

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

    # ---- other MCP servers -----------------------------------------------------------------------

    @tool("Import an MCP server", open_world=True)
    async def import_mcp_server(
        self,
        name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="Short name, e.g. 'weather'.")],
        source: Annotated[str, Field(min_length=1, max_length=1000, description="A git URL or a local path.")],
        command: Annotated[str | None, Field(default=None, max_length=1000,
                                             description="How to start it, if not its console script.")] = None,
    ) -> ImportedServer:
        """Bring another MCP server in: clone it, install it into a virtual environment of its own, start it
        over stdio, list its tools and generate a proxy so its tools become Semantic Kernel skills too.
        Re-importing a name updates it. The server gets a minimal environment without our keys."""
        record = await self.app.mcp_import.import_server(name, source, command)
        return ImportedServer.model_validate(record)

    @tool("Imported MCP servers", read_only=True)
    async def list_imported_mcp_servers(self) -> ImportedServers:
        """The MCP servers imported so far, with their tools and proxy files."""
        servers = [ImportedServer.model_validate(s) for s in self.app.mcp_import.servers()]
        return ImportedServers(servers=servers, count=len(servers))

    @tool("Remove an imported MCP server", destructive=True)
    async def remove_imported_mcp_server(
        self, name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="The imported name.")]
    ) -> RemovedServer:
        """Delete what an import created (its folder, virtual environment, proxy and record), nothing else."""
        return RemovedServer(name=name, removed=await self.app.mcp_import.remove(name))
