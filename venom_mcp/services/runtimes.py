"""The runtimes: server control and health, activation on vLLM/llama.cpp with rollback, switching between
local and cloud runtimes, slash commands, and chat through the active runtime with fallback."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, get_args
from urllib.parse import urlsplit

from ..adapters import system
from ..adapters.openai_compat import OpenAIClients, map_parameters, served_models
from ..adapters.processes import ProcessSupervisor, Systemd, build_argv, clean_environment
from ..config import OLLAMA_PROFILES, Settings
from ..errors import ConfigError, InvalidArgument, NotFound, UpstreamError, VenomError
from ..observability import span
from ..records import (
    RUNTIME_ALIASES,
    ActiveRuntime,
    Capabilities,
    ChatResult,
    Runtime,
    RuntimeStatus,
    ServerName,
    ServerStatus,
    SlashResult,
)
from ..store import atomic_write_json, locked
from .capabilities import adapt_messages
from .governance import GateClosed, Governance

if TYPE_CHECKING:
    from ..adapters.ollama import OllamaAdapter
    from .registry import ModelRegistry

log = logging.getLogger(__name__)

LOCAL: tuple[ServerName, ...] = get_args(ServerName)
CLOUD_DEFAULT_MODELS = {"openai": "gpt-4o-mini", "google": "gemini-2.0-flash"}
SLOW_SECONDS = 5.0
SLASH_HELP = ("/gpt [model], /gem [model], /ollama <model>, /vllm <model>, /llamacpp <model>, /status, /models")


def parse_slash_command(text: str) -> tuple[str, str | None] | None:
    """'/gem gemini-2.0-flash' -> ('gem', 'gemini-2.0-flash'); None when the text is not a slash command."""
    text = text.strip()
    if not text.startswith("/") or len(text) < 2:
        return None
    command, _, argument = text[1:].partition(" ")
    return command.lower(), (argument.strip() or None)


def _host_port(url: str, default_port: int) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", str(parts.port or default_port)


class RuntimeController:
    def __init__(self, settings: Settings, registry: ModelRegistry, ollama: OllamaAdapter, clients: OpenAIClients,
                 supervisor: ProcessSupervisor, governance: Governance) -> None:
        self.settings = settings
        self.governance = governance
        self.registry = registry
        self.ollama = ollama
        self.clients = clients
        self.supervisor = supervisor
        self._last_error: dict[str, str] = {}

    # ---- state ------------------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        return self.registry.runtime_state()

    def _record(self, runtime: str, model: str, active: bool = True) -> None:
        path = self.settings.path("runtime.json")
        with locked(path):
            state = self._state()
            state.setdefault("models", {})[runtime] = model
            if active:
                state["active"] = {"runtime": runtime, "model": model}
            state["updated_at"] = datetime.now(UTC)
            atomic_write_json(path, state)

    def configured_model(self, runtime: str) -> str | None:
        model = (self._state().get("models") or {}).get(runtime)
        return str(model) if model else None

    def endpoint(self, runtime: str) -> str:
        """The endpoint as shown in results, history and logs: a key in its URL is masked."""
        return self.governance.mask(self._url(runtime))

    def _url(self, runtime: str) -> str:
        """The real endpoint, for requests only."""
        return {
            "ollama": self.settings.ollama_host, "vllm": self.settings.vllm_endpoint,
            "llamacpp": self.settings.llamacpp_endpoint, "openai": self.settings.openai_base_url,
            "google": self.settings.google_base_url,
        }[runtime]

    def _api_key(self, runtime: str) -> str | None:
        secret = {"openai": self.settings.openai_api_key, "google": self.settings.google_api_key}.get(runtime)
        return secret.get_secret_value() if secret else None

    def _check_profile(self, server: str) -> None:
        if server not in self.settings.local_runtimes:
            raise InvalidArgument(
                f"VENOM_RUNTIME_PROFILE={self.settings.runtime_profile} does not expose {server} (it exposes: "
                f"{', '.join(self.settings.local_runtimes) or 'no local runtime'}); set VENOM_RUNTIME_PROFILE=full"
            )

    def _unit(self, server: str) -> str | None:
        unit = getattr(self.settings, f"{server}_systemd_unit")
        return str(unit) if unit and Systemd.available() else None

    # ---- health -----------------------------------------------------------------------------------

    async def server_status(self, server: ServerName) -> ServerStatus:
        endpoint = self.endpoint(server)
        expected = self.configured_model(server)
        unit = self._unit(server)
        record = await asyncio.to_thread(self.supervisor.record, server)
        pid = record.pid if record else (await asyncio.to_thread(Systemd.main_pid, unit) if unit else None)
        started = time.monotonic()
        served: str | None = None
        error: str | None = self._last_error.get(server)
        try:
            if server == "ollama":
                await self.ollama.version()
                loaded = [str(m.get("name")) for m in await self.ollama.ps()]
                served = ", ".join(loaded) or None
                answers, matches = True, expected is None or expected in loaded or not loaded
            else:
                names = await served_models(self.registry.http, self._url(server))
                served = ", ".join(names) or None
                answers, matches = True, expected is None or expected in names
        except (UpstreamError, NotFound) as exc:
            answers, matches = False, False
            error = str(exc)
        slow = time.monotonic() - started > SLOW_SECONDS
        status: Any
        if not answers:
            status = "offline"
        elif not matches:
            status = "degraded"
            error = f"serves {served or 'nothing'} but {expected} is configured: clients asking for it get 404"
        elif slow:
            status, error = "degraded", f"answered, but slowly ({time.monotonic() - started:.1f} s)"
        else:
            status = "online"
            if error and server not in self._last_error:
                error = None
        managed: Any = "systemd" if unit else "process" if record else "external" if answers else "none"
        tree = await asyncio.to_thread(system.process_tree, pid) if pid else None
        return ServerStatus(
            name=server, status=status, endpoint=endpoint, pid=pid if tree else None, model=expected,
            served_model_name=served, memory_mb=tree[0] if tree else None, uptime_seconds=tree[1] if tree else None,
            managed_by=managed, error=error,
        )

    async def status(self) -> RuntimeStatus:
        names: list[ServerName] = [s for s in LOCAL if s in self.settings.local_runtimes]
        servers = await asyncio.gather(*(self.server_status(s) for s in names))
        return RuntimeStatus(active=await self.active(), servers=list(servers))

    async def active(self, probe: bool = True) -> ActiveRuntime:
        active = self._state().get("active") or {}
        runtime, model = active.get("runtime"), active.get("model")
        if not runtime:
            return ActiveRuntime(provider=None, model=None, endpoint=None, service_type=None, status="unknown",
                                 message="no active runtime: use activate_model or switch_runtime")
        cloud = runtime not in LOCAL
        status: Any = "unknown"
        message: str | None = None
        if probe:
            if cloud:
                status, message = await self._probe_cloud(runtime, model)
            else:
                server = await self.server_status(runtime)
                status, message = server.status, server.error
        return ActiveRuntime(provider=runtime, model=model, endpoint=self.endpoint(runtime),
                             service_type="cloud" if cloud else "local", status=status, message=message)

    async def _probe_cloud(self, runtime: str, model: str | None) -> tuple[Any, str | None]:
        try:
            client = self.clients.get(self._url(runtime), self._api_key(runtime))
            # Gemini's OpenAI-compatible API lists "models/<id>".
            listed = [str(m.id).removeprefix("models/") async for m in client.models.list()]
        except Exception as exc:  # auth, network, anything: the runtime is not usable now
            return "offline", f"{runtime} at {self.endpoint(runtime)} did not answer: {type(exc).__name__}"
        if model and listed and model not in listed:
            return "degraded", f"{runtime} does not list {model}"
        return "online", None

    # ---- control ----------------------------------------------------------------------------------

    async def control(self, server: ServerName, action: str) -> ServerStatus:
        self._check_profile(server)
        if action == "stop":
            return await self.stop(server)
        if action == "restart":
            unit = self._unit(server)
            if unit:
                result = await asyncio.to_thread(Systemd.run, "restart", unit)
                if result.returncode != 0:
                    raise UpstreamError(f"systemctl restart {unit} failed: {result.stderr.strip()}")
                return await self._wait_healthy(server, self.configured_model(server))
            await self.stop(server)
        return await self.start(server)

    async def stop(self, server: ServerName) -> ServerStatus:
        unit = self._unit(server)
        if unit:
            result = await asyncio.to_thread(Systemd.run, "stop", unit)
            if result.returncode != 0:
                raise UpstreamError(f"systemctl stop {unit} failed: {result.stderr.strip()}")
        elif not await asyncio.to_thread(self.supervisor.stop, server):
            status = await self.server_status(server)
            if status.managed_by == "external":
                status.error = "started outside venom-mcp, so it was not stopped"
            return status
        self._last_error.pop(server, None)
        return await self.server_status(server)

    async def start(self, server: ServerName, model: str | None = None) -> ServerStatus:
        current = await self.server_status(server)
        if current.status != "offline" and model is None:
            return current  # already running: starting it again changes nothing
        unit = self._unit(server)
        model = model or self.configured_model(server)
        if unit:
            result = await asyncio.to_thread(Systemd.run, "start", unit)
            if result.returncode != 0:
                raise UpstreamError(f"systemctl start {unit} failed: {result.stderr.strip()}")
        else:
            argv, env = self._command(server, model)
            await asyncio.to_thread(self.supervisor.start, server, argv, env, model, model)
        return await self._wait_healthy(server, model)

    def _command(self, server: ServerName, model: str | None) -> tuple[list[str], dict[str, str]]:
        if server == "ollama":
            host, port = _host_port(self.settings.ollama_host, 11434)
            profile = dict(OLLAMA_PROFILES[self.settings.ollama_profile])
            profile.update({k: v for k, v in os.environ.items() if k.startswith("OLLAMA_")})
            profile["OLLAMA_HOST"] = f"{host}:{port}"
            return build_argv(self.settings.ollama_command, host=host, port=port, model_path="",
                              served_model_name=""), clean_environment(profile)
        if model is None:
            raise InvalidArgument(f"{server} has no model to serve: activate_model <name> runtime={server} first")
        entry = self.registry.find(model)
        if not entry.local_path:
            raise NotFound(f"{model} has no local files to serve; install it again")
        host, port = _host_port(self._url(server), 8001 if server == "vllm" else 8002)
        template = self.settings.vllm_command if server == "vllm" else self.settings.llamacpp_command
        argv = build_argv(template, model_path=entry.local_path, served_model_name=entry.name, host=host, port=port)
        return argv, clean_environment()

    async def _wait_healthy(self, server: ServerName, model: str | None) -> ServerStatus:
        deadline = time.monotonic() + self.settings.start_timeout_seconds
        while True:
            status = await self.server_status(server)
            expected_ok = server == "ollama" or model is None or (
                status.served_model_name is not None and model in status.served_model_name.split(", ")
            )
            if status.status != "offline" and expected_ok:
                self._last_error.pop(server, None)
                return status
            code = self.supervisor.exited(server)
            if code is not None or time.monotonic() > deadline:
                tail = self.supervisor.log_tail(server)
                await asyncio.to_thread(self.supervisor.stop, server)
                why = f"exited with status {code}" if code is not None else (
                    f"was not healthy within {self.settings.start_timeout_seconds:g} s (VENOM_START_TIMEOUT_SECONDS)")
                message = f"{server} {why}; last log lines:\n{tail}"
                self._last_error[server] = message
                raise UpstreamError(message)
            await asyncio.sleep(0.2)

    # ---- activation and switching -----------------------------------------------------------------

    async def activate(self, name: str, runtime: Runtime) -> ActiveRuntime:
        """Serve `name` on `runtime`: load it (Ollama), or restart vLLM/llama.cpp with it and roll back on failure."""
        model = await self.registry.check_activation(name, runtime)
        if runtime == "ollama":
            return await self.registry.activate(model, runtime)
        server: ServerName = "vllm" if runtime == "vllm" else "llamacpp"
        async with self.registry.operations.lock(runtime):  # not while an install on this runtime runs
            previous = self.configured_model(server)
            current = await self.server_status(server)
            if current.managed_by == "external":
                self._record(server, model)
                return await self.active()
            await self.stop(server)
            try:
                await self.start(server, model)
            except VenomError as exc:
                rolled = ""
                if previous and previous != model:
                    try:
                        await self.start(server, previous)
                        rolled = f"; rolled back to {previous}, which is serving again"
                    except VenomError as again:
                        rolled = f"; rolling back to {previous} failed too: {str(again).splitlines()[0]}"
                raise UpstreamError(f"{model} did not come up on {server}: {exc}{rolled}") from exc
            self._record(server, model)
        return await self.active()

    async def switch(self, provider: str, model: str | None = None) -> ActiveRuntime:
        runtime = RUNTIME_ALIASES.get(provider.strip().lower(), provider.strip().lower())
        if runtime in ("openai", "google"):
            variable = "OPENAI_API_KEY" if runtime == "openai" else "GOOGLE_API_KEY"
            if not self._api_key(runtime):
                raise ConfigError(f"{runtime} needs an API key: set {variable} and restart venom-mcp")
            chosen = model or self.configured_model(runtime) or CLOUD_DEFAULT_MODELS[runtime]
            self._record(runtime, chosen)
            return await self.active()
        if runtime not in LOCAL:
            raise InvalidArgument(f"unknown runtime {provider!r}; use ollama, vllm, llamacpp, openai or google "
                                  "(aliases gpt, gem, gemini, google-gemini)")
        self._check_profile(runtime)
        local = model or self.configured_model(runtime)
        if local is None:
            raise InvalidArgument(f"name the model to use on {runtime} (installed_models lists them)")
        return await self.activate(local, runtime)

    async def slash(self, text: str) -> SlashResult:
        parsed = parse_slash_command(text)
        command = parsed[0] if parsed else text.strip()
        argument = parsed[1] if parsed else None
        targets = {"gpt": "openai", "gem": "google", "ollama": "ollama", "vllm": "vllm", "llamacpp": "llamacpp"}
        if parsed and command in targets:
            if targets[command] in LOCAL and not argument:
                raise InvalidArgument(f"/{command} needs a model, e.g. /{command} <name from installed_models>")
            active = await self.switch(targets[command], argument)
            return SlashResult(command=f"/{command}", handled=True, active=active,
                               message=f"active runtime: {active.provider} with {active.model} ({active.status})")
        if parsed and command == "status":
            active = await self.active()
            message = (f"{active.provider} with {active.model} at {active.endpoint}: {active.status}"
                       if active.provider else active.message or "no active runtime")
            return SlashResult(command="/status", handled=True, message=message, active=active)
        if parsed and command == "models":
            installed = await self.registry.installed()
            names = ", ".join(f"{m.name} ({m.runtime})" for m in installed.models) or "none installed"
            return SlashResult(command="/models", handled=True, message=names, active=await self.active(probe=False))
        return SlashResult(command=command, handled=False, active=await self.active(probe=False),
                           message=f"not a command; the commands are: {SLASH_HELP}")

    # ---- chat -------------------------------------------------------------------------------------

    def _capabilities(self, model: str) -> Capabilities:
        try:
            return self.registry.find(model).capabilities
        except (NotFound, ValueError):
            return Capabilities()

    async def chat(self, prompt: str, system: str | None, max_tokens: int, temperature: float | None) -> ChatResult:
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        return await self.complete(messages, max_tokens, temperature)

    async def complete(self, messages: list[dict[str, str]], max_tokens: int, temperature: float | None,
                       runtime: str | None = None, model: str | None = None) -> ChatResult:
        """One answer from the active runtime (or the given one), falling back along VENOM_FALLBACK_ORDER.

        Every attempt passes the governance gate (limits, budgets) and lands in the request history."""
        if runtime is None:
            active = self._state().get("active") or {}
            if not active.get("runtime"):
                raise InvalidArgument("no active runtime: use activate_model or switch_runtime first")
            runtime, model = active["runtime"], active["model"]
        order = [runtime] + [r for r in self.settings.fallbacks if r != runtime]
        failures: list[str] = []
        estimated = sum(len(m["content"]) for m in messages) // 4 + max_tokens
        for candidate in order:
            name = model if candidate == runtime else (
                self.configured_model(candidate) or CLOUD_DEFAULT_MODELS.get(candidate))
            if name is None:
                failures.append(f"{candidate}: no model configured")
                continue
            endpoint = self.endpoint(candidate)
            try:
                record = await self.governance.admit(candidate, name, endpoint, estimated)
            except GateClosed as exc:
                failures.append(f"{candidate} ({name} at {endpoint}) refused: {exc}")
                continue
            started = time.perf_counter()
            try:
                with span("llm.request", **{"llm.provider": candidate, "llm.model": name, "llm.endpoint": endpoint,
                                            "venom.request_id": record.request_id}):
                    text, prompt_tokens, completion_tokens = await self._ask(
                        candidate, name, messages, max_tokens, temperature)
            except Exception as exc:  # each failure moves on along the fallback order
                self.governance.finish(record, error=exc)
                reason = self.governance.mask(f"{candidate} ({name} at {endpoint}) failed: {record.error}")
                log.warning("%s", reason)
                failures.append(reason)
                continue
            self.governance.finish(record, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
            return ChatResult.model_validate(dict(
                text=text, llm_provider=candidate, llm_model=name, llm_endpoint=endpoint,
                latency_ms=round((time.perf_counter() - started) * 1000, 1),
                fallback_from=runtime if candidate != runtime else None,
            ))
        hint = "" if self.settings.fallbacks else " (no fallback configured: VENOM_FALLBACK_ORDER)"
        raise UpstreamError(self.governance.mask("; ".join(failures) + hint))

    async def _ask(self, runtime: str, model: str, messages: list[dict[str, str]], max_tokens: int,
                   temperature: float | None) -> tuple[str, int | None, int | None]:
        messages = adapt_messages(messages, self._capabilities(model))
        params = map_parameters(runtime, {"max_tokens": max_tokens, "temperature": temperature})
        if runtime == "ollama":
            return await self.ollama.chat(model, messages, params, self.registry.keep_alive(),
                                          wait_seconds=self.settings.llm_timeout_seconds)
        if runtime in ("openai", "google") and not self._api_key(runtime):
            variable = "OPENAI_API_KEY" if runtime == "openai" else "GOOGLE_API_KEY"
            raise ConfigError(f"no API key: set {variable}")
        # Non-streaming on purpose: llama.cpp reports a template error as HTTP 500 here, but as an empty
        # 200 stream when streaming.
        return await self.clients.chat(base_url=self._url(runtime), api_key=self._api_key(runtime), model=model,
                                       messages=messages, params=params)

    async def usage(self) -> dict[str, Any]:
        """The raw readings for resource_usage (the tool shapes them)."""
        cache = self.settings.models_cache_dir
        cpu, (total, used, percent), gpu, cache_bytes = await asyncio.gather(
            asyncio.to_thread(system.cpu_percent), asyncio.to_thread(system.memory),
            asyncio.to_thread(system.NVML.read),
            asyncio.to_thread(system.folder_size, cache) if cache.exists() else _zero(),
        )
        return {"cpu": cpu, "memory": (total, used, percent), "gpu": gpu, "cache_bytes": cache_bytes}


async def _zero() -> int:
    return 0
