"""The runtimes: health (`health.py`), starting and stopping servers (`control.py`), activation as a verified
transaction and unloading (`activation.py`); this module puts them together for the tools: status, control,
activation, switching and slash commands. Chat lives in `services/chat.py`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ...adapters import runtimes as table
from ...adapters import system
from ...adapters.openai_compat import OpenAIClients
from ...errors import ConfigError, InvalidArgument, UpstreamError, VenomError
from ...records import RUNTIME_ALIASES, ActiveRuntime, RuntimeStatus, ServerStatus, SlashResult, UnloadResult
from .. import profile
from ..operations import Operations
from ..registry import ModelRegistry
from ..runtime_state import RequestGates
from ..slash import SLASH_HELP, SLASH_TARGETS, parse_slash_command
from .activation import Activation
from .control import Control
from .health import Health
from .ray import RayRuntime


class RuntimeController:
    def __init__(self, health: Health, registry: ModelRegistry, operations: Operations, gates: RequestGates,
                 clients: OpenAIClients, cluster: RayRuntime | None = None) -> None:
        self.health = health
        self.settings = health.settings
        self.state = health.state
        self.registry = registry
        self.control_ = Control(health, registry)
        self.cluster = cluster  # the `ray` runtime (services/runtimes/ray.py)
        self.activation = Activation(self.control_, operations, gates, clients, cluster)
        self.clients = clients
        # "Will it fit?" before an activation (services/fit): raises to refuse, or returns a warning; the App sets it.
        self.fit_gate: Callable[[str, str, str, bool], Awaitable[str | None]] | None = None

    # ---- status -----------------------------------------------------------------------------------

    async def server_status(self, runtime: str) -> ServerStatus:
        return await self.health.server_status(runtime)

    async def status(self) -> RuntimeStatus:
        names = profile.local(self.settings)
        servers = list(await asyncio.gather(*(self.health.server_status(s) for s in names)))
        if self.cluster is not None and profile.allowed(self.settings, "ray"):
            servers.append(await self.cluster.server_status())
        return RuntimeStatus(active=await self.active(known=servers), servers=servers)

    def _endpoint(self, runtime: str, model: str | None) -> str:
        if table.spec(runtime).kind == "cluster" and self.cluster is not None:
            return self.health.mask(self.cluster.endpoint(model))
        return self.health.endpoint(runtime)

    async def active(self, probe: bool = True, known: list[ServerStatus] | None = None) -> ActiveRuntime:
        """The recorded active runtime with its health now: `online` only when the server answers and lists
        the model under the recorded name. `known`: servers' statuses just taken, not asked again."""
        runtime, model = self.state.active()
        switching = self.state.switching()
        if not runtime:
            if switching is not None:
                return ActiveRuntime(provider=switching.runtime, model=switching.model,  # type: ignore[arg-type]
                                     endpoint=self.health.endpoint(switching.runtime), service_type=None,
                                     status="switching", message=f"operation {switching.operation_id}")
            return ActiveRuntime(provider=None, model=None, endpoint=None, service_type=None, status="unknown",
                                 message="no active runtime: use activate_model or switch_runtime")
        cloud = table.spec(runtime).cloud
        status: Any = "unknown"
        message: str | None = None
        if switching is not None:
            status = "switching"
            message = f"switching to {switching.model} on {switching.runtime} (operation {switching.operation_id})"
        elif probe and cloud:
            status, message = await self._probe_cloud(runtime, model)
        elif probe:
            taken = next((s for s in known or [] if s.name == runtime), None)
            server = taken or (await self.cluster.server_status() if table.spec(runtime).kind == "cluster"
                               and self.cluster else await self.health.server_status(runtime))
            status, message = server.status, server.error
            if status == "online" and runtime != "ollama" and model not in (server.served_model_name or "").split(
                    ", "):
                status, message = "degraded", f"{runtime} serves {server.served_model_name}, not {model}"
        return ActiveRuntime(provider=runtime, model=model, endpoint=self._endpoint(runtime, model),  # type: ignore
                             service_type=table.spec(runtime).kind, status=status, message=message)

    async def _probe_cloud(self, runtime: str, model: str | None) -> tuple[Any, str | None]:
        try:
            client = self.clients.get(table.endpoint(self.settings, runtime), table.api_key(self.settings, runtime))
            listed = [str(m.id).removeprefix("models/") async for m in client.models.list()]
        except Exception as exc:  # auth, network, anything: the runtime is not usable now
            return "offline", f"{runtime} at {self.health.endpoint(runtime)} did not answer: {type(exc).__name__}"
        if model and listed and model not in listed:
            return "degraded", f"{runtime} does not list {model}"
        return "online", None

    # ---- control ----------------------------------------------------------------------------------

    async def control(self, server: str, action: str, force: bool = False) -> ServerStatus:
        profile.require(self.settings, server, f"control_runtime {action}")
        if table.spec(server).kind == "cluster" and self.cluster is not None:
            return await self._control_cluster(action)
        try:
            if action == "stop":
                return await self.control_.stop(server, force)
            if action == "restart":
                return await self.control_.start(server, restart=True)
            return await self.control_.start(server)
        finally:
            self.state.touched()  # the server's status changed (or may have, when it failed half-way)

    async def _control_cluster(self, action: str) -> ServerStatus:
        """ray: the cluster itself is the user's; start/stop/restart act on the configured model's application."""
        assert self.cluster is not None
        model = self.state.configured("ray")
        if model is None:
            raise InvalidArgument("no model is configured on ray: activate_model name=<model> runtime=ray first; "
                                  "venom-mcp never starts or stops the Ray cluster itself")
        if action == "restart":
            await self.cluster.restart(model)
        elif action == "start":
            status = await self.cluster.server_status()
            if status.managed_by == "none":  # the cluster does not answer: venom-mcp does not start clusters
                raise UpstreamError(status.error or f"no Ray cluster answers at {self.settings.ray_address}")
            if status.status == "offline":  # the cluster answers, the model's application is not there
                await self.activate(model, "ray")
        else:
            unloaded = await self.activation.unload("ray")
            if unloaded.errors:
                raise UpstreamError("; ".join(unloaded.errors))
        return await self.cluster.server_status()

    async def stop(self, server: str) -> ServerStatus:
        try:
            return await self.control_.stop(server)
        finally:
            self.state.touched()

    async def unload(self, runtime: str | None) -> UnloadResult:
        try:
            return await self.activation.unload(runtime)
        finally:
            self.state.touched()

    # ---- activation and switching -----------------------------------------------------------------

    async def activate(self, name: str, runtime: str, force: bool = False) -> ActiveRuntime:
        """Serve `name` on `runtime` as a verified transaction (activation.py); the active runtime after it.
        A model that will not fit in memory (services/fit) is refused first, unless `force`."""
        if table.spec(runtime).cloud:
            raise InvalidArgument(f"activate_model serves local runtimes (ollama, vllm, llamacpp) and the cluster "
                                  f"(ray); use switch_runtime for {runtime}")
        profile.require(self.settings, runtime, "activations")
        entry = await self.registry.resolve(name)
        allowed = self.registry.valid_runtimes(entry)
        if runtime not in allowed:
            raise InvalidArgument(f"{entry.name} ({entry.provider}) cannot run on {runtime}; "
                                  f"valid runtimes: {', '.join(allowed)}")
        note = await self.fit_gate(entry.name, entry.provider, runtime, force) if self.fit_gate else None
        message = await self.activation.run(runtime, entry.name, entry.provider)
        return self._confirmed(runtime, entry.name, f"{message}; {note}" if note else message)

    def _confirmed(self, runtime: str, model: str, message: str) -> ActiveRuntime:
        """What a completed activation established: the transaction itself just confirmed it is served."""
        return ActiveRuntime(provider=runtime, model=model, endpoint=self._endpoint(runtime, model),  # type: ignore
                             service_type=table.spec(runtime).kind, status="online", message=message)

    async def switch(self, provider: str, model: str | None = None) -> ActiveRuntime:
        runtime = RUNTIME_ALIASES.get(provider.strip().lower(), provider.strip().lower())
        if runtime not in table.RUNTIMES:
            raise InvalidArgument(f"unknown runtime {provider!r}; use {', '.join(table.RUNTIMES)} "
                                  "(aliases gpt, gem, gemini, google-gemini)")
        spec = table.spec(runtime)
        if not spec.cloud:
            profile.require(self.settings, runtime, "activations")
            local = model or self.state.configured(runtime)
            if local is None:
                raise InvalidArgument(f"name the model to use on {runtime} (installed_models lists them)")
            return await self.activate(local, runtime)
        if not table.api_key(self.settings, runtime):
            raise ConfigError(f"{runtime} needs an API key: set {spec.key_env} and restart venom-mcp")
        chosen = model or self.state.configured(runtime) or spec.default_model or ""
        return self._confirmed(runtime, chosen, await self.activation.run(runtime, chosen, runtime))

    async def slash(self, text: str) -> SlashResult:
        parsed = parse_slash_command(text)
        command = parsed[0] if parsed else text.strip()
        argument = parsed[1] if parsed else None
        if parsed and command in SLASH_TARGETS:
            if not table.spec(SLASH_TARGETS[command]).cloud and not argument:
                raise InvalidArgument(f"/{command} needs a model, e.g. /{command} <name from installed_models>")
            active = await self.switch(SLASH_TARGETS[command], argument)
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

    # ---- resources --------------------------------------------------------------------------------

    async def usage(self) -> dict[str, Any]:
        """The raw readings for resource_usage (the tool shapes them)."""
        cache = self.settings.models_cache_dir
        cpu, memory, gpu, cache_bytes, disk_free = await asyncio.gather(
            asyncio.to_thread(system.cpu_percent), asyncio.to_thread(system.memory),
            asyncio.to_thread(system.NVML.read),
            asyncio.to_thread(system.folder_size, cache) if cache.exists() else _zero(),
            asyncio.to_thread(system.disk_free, cache),
        )
        nodes = None
        if self.cluster is not None and profile.allowed(self.settings, "ray"):
            try:
                nodes = await self.cluster.nodes()
            except VenomError:
                nodes = None  # no cluster answering: resource_usage shows this machine only
        return {"cpu": cpu, "memory": memory, "gpu": gpu, "cache_bytes": cache_bytes, "disk_free": disk_free,
                "cluster_nodes": nodes}


async def _zero() -> int:
    return 0


__all__ = ["RuntimeController", "parse_slash_command"]
