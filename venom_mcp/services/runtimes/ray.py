"""The `ray` runtime: models deployed as Ray Serve applications on a cluster the user runs (RAY_ADDRESS).

venom-mcp never starts or stops the cluster. It deploys one application per model through Serve's declarative REST
API (adapters/ray), always putting back every other declarative application unchanged, and it only ever changes or
deletes the applications that carry its marker (app_config.MARKER). An activation (services/runtimes/activation.py)
calls `deploy`, then `confirm`, and on failure `roll_back`, which puts back the application as it was before (or
removes it when there was none). Status maps Serve's own words: RUNNING with every replica up is `online`, DEPLOYING
is `switching`, UNHEALTHY or fewer running replicas than asked is `degraded`, an unreachable cluster is `offline`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ...adapters.openai_compat import OpenAIClients, served_models
from ...adapters.ray import ClusterReader, ModelSource, RayServeAPI, ReplicaOptions, ServeState, serve_url, telling
from ...adapters.ray import app_config as configs
from ...adapters.ray.serve_api import Application
from ...config import Settings
from ...errors import Conflict, InvalidArgument, NotFound, StateError, UpstreamError, VenomError
from ...records import ClusterApplication, ClusterNode, ClusterReplica, ModelMetadata, ServerStatus
from ..registry import split_hf_name
from ..runtime_state import RuntimeState

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0
GONE_SECONDS = 60.0  # how long a removal is waited for before it is reported as still under way
CONFIRM_MESSAGES = [{"role": "user", "content": "Hi"}]


@dataclass(frozen=True)
class Before:
    """What the model's application was before a deploy: its config (None: there was none)."""

    config: dict[str, Any] | None


class RayRuntime:
    def __init__(self, settings: Settings, state: RuntimeState, http: httpx.AsyncClient, clients: OpenAIClients,
                 mask: Callable[[str], str], overrides: Callable[[str], Mapping[str, object]] = lambda _: {}) -> None:
        self.settings = settings
        self.state = state
        self.api = RayServeAPI(http, settings.ray_address, timeout=settings.http_timeout_seconds)
        self.reader = ClusterReader(self.api)
        self.http = http
        self.clients = clients
        self.mask = mask
        self.overrides = overrides  # model -> its model_config overrides (the deployment options among them)
        self._before: dict[str, Before] = {}  # model -> its application before the deploy under way

    # ---- addresses and options ---------------------------------------------------------------------

    def endpoint(self, model: str | None) -> str:
        return serve_url(self.settings.ray_serve_endpoint, model) if model else self.settings.ray_serve_endpoint

    def options(self, model: str) -> ReplicaOptions:
        """The model's replica options (model_config); an unreadable model_config file means the defaults."""
        try:
            return ReplicaOptions.from_overrides(dict(self.overrides(model)))
        except StateError as exc:
            log.warning("Ray Serve options of %s not read: %s", model, exc)
            return ReplicaOptions()

    async def nodes(self) -> list[ClusterNode]:
        return await self.reader.nodes()

    def application(self, entry: ModelMetadata, options: ReplicaOptions) -> dict[str, Any]:
        """The Serve application config for an installed Hugging Face model."""
        if entry.provider != "huggingface":
            raise InvalidArgument(f"{entry.name} is an Ollama model; ray serves Hugging Face models (GGUF with "
                                  "llama.cpp, safetensors with vLLM)")
        repo, _ = split_hf_name(entry.name)
        if entry.runtime == "llamacpp":
            files = sorted(name for name in entry.files if name.endswith(".gguf"))
            if not files and entry.local_path:
                files = [entry.local_path.rsplit("/", 1)[-1]]
            if not files:
                raise NotFound(f"{entry.name} has no GGUF file recorded; install it again")
            source = ModelSource(repo, entry.revision, tuple(files), self.settings.hf_endpoint)
            return configs.llamacpp_application(entry.name, source, options)
        return configs.vllm_application(entry.name, ModelSource(repo, entry.revision,
                                                                hf_endpoint=self.settings.hf_endpoint), options)

    # ---- deploy, confirm, roll back ----------------------------------------------------------------

    async def deploy(self, entry: ModelMetadata) -> None:
        """Deploy the model's application and wait until Serve runs the replicas asked for. A failure raises with
        Ray's telling lines; `roll_back` then puts back what was there before (nothing, when the failure came
        before the config was put)."""
        options = self.options(entry.name)
        config = self.application(entry, options)
        state = await self.api.state()
        if configs.engine_of(config) == "vllm":
            await self._need_gpus(entry.name)
        name = config["name"]
        existing = state.applications.get(name)
        if existing is not None and configs.deployed_by_us(existing.config) != entry.name:
            raise Conflict(f"the cluster already runs an application named {name} that venom-mcp did not deploy; "
                           "it was left alone: delete it with `serve shutdown`/your own config, or serve another "
                           "model")
        self._before[entry.name] = Before(existing.config if existing is not None else None)
        await self._put(state, name, config)
        await self._wait_running(name, entry.name, options)

    async def confirm(self, model: str) -> None:
        """The application's own /v1/models lists the model, and a 1-token completion answers through Serve."""
        endpoint = self.endpoint(model)
        try:
            served = await served_models(self.http, endpoint)
        except UpstreamError as exc:
            raise UpstreamError(f"Ray Serve at {self.mask(endpoint)} (RAY_SERVE_ENDPOINT) does not answer for "
                                f"{model}: {exc}; is RAY_SERVE_ENDPOINT where Serve's HTTP proxy listens?") from exc
        if model not in served:
            raise UpstreamError(f"{self.mask(endpoint)} lists {', '.join(served) or 'nothing'}, not {model}")
        try:
            await self.clients.chat(base_url=endpoint, api_key=None, model=model, messages=CONFIRM_MESSAGES,
                                    params={"max_tokens": 1})
        except VenomError:
            raise
        except Exception as exc:  # the SDK's own errors: the model does not answer
            raise UpstreamError(self.mask(f"a 1-token completion through Ray Serve failed: {type(exc).__name__}: "
                                          f"{exc}")) from exc

    def done(self, model: str) -> None:
        """The activation of `model` is over (confirmed): nothing to roll back any more."""
        self._before.pop(model, None)

    async def roll_back(self, model: str) -> str:
        """Put the model's application back as it was before `deploy` (or remove it); the words say what was done."""
        before = self._before.pop(model, None)
        if before is None:
            return "nothing was changed on the cluster"
        name = configs.application_name(model)
        state = await self.api.state()
        await self._put(state, name, before.config)
        if before.config is None:
            await self._wait_gone([name])
            return f"the application {name} was deleted"
        return f"the application {name} was put back as it was"

    async def _put(self, state: ServeState, name: str, config: dict[str, Any] | None) -> None:
        """Every other declarative application unchanged, and this one replaced (or left out when None)."""
        others = [c for c in state.deployed_configs() if c.get("name") != name]
        await self.api.put([*others, *([config] if config is not None else [])],
                           configs.http_options(self.settings.ray_serve_endpoint))

    async def _wait_running(self, name: str, model: str, options: ReplicaOptions) -> Application:
        deadline = time.monotonic() + self.settings.start_timeout_seconds
        while True:
            app = (await self.api.state()).applications.get(name)
            if app is not None and configs.deployed_by_us(app.config) == model:
                if app.status == "RUNNING" and app.running >= options.replicas_wanted:
                    return app
                if app.status == "DEPLOY_FAILED":
                    raise UpstreamError(f"Ray Serve could not deploy {name}: {why(app)}")
            if time.monotonic() > deadline:
                where = (f"{app.status}, {app.running} of {options.replicas_wanted} replicas running"
                         + (f": {why(app)}" if why(app) else "")) if app is not None else "not listed"
                raise UpstreamError(f"{name} was not running within {self.settings.start_timeout_seconds:g} s "
                                    f"(VENOM_START_TIMEOUT_SECONDS; {where}); a replica that cannot be placed waits "
                                    "for free CPUs/GPUs on a node (check_fit runtime=ray)")
            await asyncio.sleep(POLL_SECONDS)

    async def _wait_gone(self, names: list[str]) -> list[str]:
        """Wait (bounded) until Serve no longer lists these applications; the ones still listed."""
        deadline = time.monotonic() + GONE_SECONDS
        while True:
            listed = [n for n in names if n in (await self.api.state()).applications]
            if not listed or time.monotonic() > deadline:
                return listed
            await asyncio.sleep(POLL_SECONDS)

    async def _need_gpus(self, model: str) -> None:
        nodes = await self.reader.nodes()
        if not any(n.gpus_total for n in nodes if n.alive):
            raise InvalidArgument(f"{model} is a safetensors model, which ray serves with vLLM on GPUs, and the "
                                  f"cluster at {self.settings.ray_address} reports no GPU: add a GPU node, or serve a "
                                  "GGUF model (llama.cpp runs on CPUs)")

    # ---- unload and control ------------------------------------------------------------------------

    async def unload(self) -> tuple[list[str], list[str]]:
        """Delete every application venom-mcp deployed: (the models deleted, errors). Others stay as they are."""
        state = await self.api.state()
        ours = {name: model for name, app in state.applications.items()
                if (model := configs.deployed_by_us(app.config)) is not None}
        if not ours:
            return [], []
        kept = [c for c in state.deployed_configs() if c.get("name") not in ours]
        await self.api.put(kept, configs.http_options(self.settings.ray_serve_endpoint))
        left = await self._wait_gone(list(ours))
        errors = [f"ray: {name} is still being deleted after {GONE_SECONDS:g} s" for name in left]
        return [model for name, model in ours.items() if name not in left], errors

    async def restart(self, model: str) -> None:
        """Replace the application's replicas one by one (a new runtime_env value makes Serve roll them)."""
        name = configs.application_name(model)
        state = await self.api.state()
        app = state.applications.get(name)
        if app is None or app.config is None or configs.deployed_by_us(app.config) != model:
            raise NotFound(f"the cluster runs no application of {model} deployed by venom-mcp: activate_model "
                           f"name={model} runtime=ray")
        config = dict(app.config)
        env = dict((config.get("runtime_env") or {}).get("env_vars") or {})
        env["VENOM_MCP_RESTARTED_AT"] = str(time.time())
        config["runtime_env"] = {**(config.get("runtime_env") or {}), "env_vars": env}
        await self._put(state, name, config)
        await self._wait_running(name, model, self.options(model))

    # ---- status ------------------------------------------------------------------------------------

    async def server_status(self) -> ServerStatus:
        configured = self.state.configured("ray")
        endpoint = self.mask(self.endpoint(configured))
        try:
            state = await self.api.state()
        except VenomError as exc:
            return ServerStatus(name="ray", status="offline", endpoint=endpoint, model=configured, managed_by="none",
                                error=self.mask(str(exc)))
        notes = ["a cluster venom-mcp does not start or stop: it manages only the Serve applications it deployed"]
        try:
            nodes: list[ClusterNode] | None = await self.reader.nodes()
        except VenomError as exc:
            nodes = None
            notes.append(f"nodes not read: {self.mask(str(exc))}")
        ours = {name: (model, app) for name, app in state.applications.items()
                if (model := configs.deployed_by_us(app.config)) is not None}
        served = [model for model, app in ours.values() if app.running]
        status, error = self._health(configured, ours)
        return ServerStatus(
            name="ray", status=status, endpoint=endpoint, model=configured,  # type: ignore[arg-type]
            served_model_name=", ".join(served) or None, managed_by="external", error=error, notes=notes,
            applications=[_application_record(app) for _, app in ours.values()],
            replicas=[ClusterReplica(application=name, replica_id=r.replica_id, state=r.state, node_id=r.node_id,
                                     node_ip=r.node_ip, pid=r.pid)
                      for name, (_, app) in ours.items() for r in app.replicas],
            nodes=nodes,
        )

    def _health(self, configured: str | None, ours: Mapping[str, tuple[str, Application]]) -> tuple[str, str | None]:
        switching = self.state.switching()
        if switching is not None and switching.runtime == "ray":
            return "switching", f"switching to {switching.model} (operation {switching.operation_id})"
        if configured is None:
            return "online", None  # the cluster answers; nothing of ours is asked for yet
        found = ours.get(configured_name := configs.application_name(configured))
        if found is None:
            return "offline", (f"the cluster runs no application {configured_name} for {configured}: "
                               f"activate_model name={configured} runtime=ray")
        app = found[1]
        wanted = app.wanted or self.options(configured).replicas_wanted  # Serve's target (autoscaling moves it)
        if app.status == "RUNNING" and app.running >= wanted:
            return "online", None
        if app.status in ("DEPLOY_FAILED", "UNHEALTHY") or 0 < app.running < wanted:
            return "degraded", (f"{app.status}: {app.running} of {wanted} replicas running"
                                + (f"; {why(app)}" if why(app) else ""))
        if app.status == "DEPLOYING" or (app.status == "RUNNING" and not app.running):
            return "switching", f"{app.status}: {app.running} of {wanted} replicas running"
        return "offline", f"{app.status}" + (f": {why(app)}" if why(app) else "")


def why(app: Application) -> str:
    """Ray's own words on what is wrong: the application's message, else its deployments', without tracebacks."""
    messages = [app.message, *(d.message for d in app.deployments if d.status not in ("HEALTHY", ""))]
    return " ".join(telling(m) for m in messages if m and m.strip())


def _application_record(app: Application) -> ClusterApplication:
    return ClusterApplication(name=app.name, status=app.status, route_prefix=app.route_prefix,
                              engine=configs.engine_of(app.config), replicas_wanted=app.wanted,
                              replicas_running=app.running, message=why(app) or None)
