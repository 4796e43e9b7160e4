"""Activation as a verified transaction, and unloading.

An activation (1) waits, bounded, for running installs and in-flight requests on the runtimes it touches,
(2) stops the other local runtimes venom-mcp runs and unloads the models of an Ollama it does not run,
(3) starts or restarts the target with the model, (4) confirms that the runtime's own API lists the model under
the expected name and that a 1-token completion answers, and (5) records it, or rolls back to what ran before and
says why. Activations run one at a time, each as an Operation (`operation_type: "activate"`).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...adapters import runtimes as table
from ...adapters.openai_compat import OpenAIClients
from ...errors import Conflict, InvalidArgument, UpstreamError, VenomError
from ...records import UnloadedModel, UnloadResult
from ..operations import Operations, Progress
from ..runtime_state import RequestGates
from .control import Control

if TYPE_CHECKING:
    from .ray import RayRuntime

log = logging.getLogger(__name__)

UNLOAD_CONFIRM_SECONDS = 10.0
CONFIRM_MESSAGES = [{"role": "user", "content": "Hi"}]


@dataclass
class Undo:
    """What an activation changed before the target came up, so a failure can put it back."""

    stopped: list[tuple[str, str | None]] = field(default_factory=list)  # (runtime, model) of stopped servers
    unloaded: list[str] = field(default_factory=list)  # Ollama models unloaded from an external Ollama
    notes: list[str] = field(default_factory=list)


class Activation:
    def __init__(self, control: Control, operations: Operations, gates: RequestGates, clients: OpenAIClients,
                 cluster: RayRuntime | None = None) -> None:
        self.control = control
        self.health = control.health
        self.state = control.health.state
        self.settings = control.settings
        self.ollama = control.health.ollama
        self.operations = operations
        self.gates = gates
        self.clients = clients
        self.cluster = cluster  # the `ray` runtime (kind cluster): deploys instead of starting a server
        self._one_at_a_time = asyncio.Lock()

    # ---- the transaction ---------------------------------------------------------------------------

    async def run(self, runtime: str, model: str, provider: str) -> str:
        """Start the activation Operation and wait for it; raises the failure with its own error class."""
        op = self.operations.start(model, provider, runtime, "activate",  # type: ignore[arg-type]
                                   lambda progress: self._transaction(runtime, model, progress), exclusive=False)
        done = await self.operations.wait(op.operation_id)
        if done.status != "completed":
            raise self.operations.failure(op.operation_id) or UpstreamError(
                f"activation of {model} on {runtime} {done.status}: {done.error or done.message}")
        return done.message or ""

    async def _transaction(self, runtime: str, model: str, progress: Progress) -> str:
        op_id = progress.operation_id
        async with self._one_at_a_time:
            self.state.begin_switch(runtime, model, op_id)
            try:
                spec = table.spec(runtime)
                others = [r for r in table.LOCAL_RUNTIMES if r != runtime] if spec.local else []
                touched = [runtime, *others]
                progress.update(None, None, f"waiting for requests and installs on {', '.join(touched)}")
                async with AsyncExitStack() as stack:
                    await stack.enter_async_context(
                        self.gates.exclusive(touched, self.settings.drain_timeout_seconds))
                    await self._hold_installs(stack, runtime, others)
                    previous = self.state.active()
                    undo = Undo()
                    if others:
                        progress.update(None, None, "stopping the other local runtimes")
                        await self._stop_others(others, undo)
                    try:
                        progress.update(None, None, f"starting {runtime} with {model}")
                        await self._bring_up(runtime, model)
                        progress.update(None, None, f"confirming that {runtime} serves {model}")
                        await self._confirm(runtime, model)
                        if spec.kind == "cluster" and self.cluster is not None:
                            self.cluster.done(model)
                    except VenomError as exc:
                        rolled = await self._roll_back(runtime, model, previous, undo)
                        raise type(exc)(f"{model} did not come up on {runtime}: {exc}{rolled}") from exc
                self.state.end_switch(op_id, runtime, model)
            finally:
                self.state.end_switch(op_id)
        done = f"{model} is active on {runtime} and answered a 1-token completion"
        return done + "".join(f"; {note}" for note in undo.notes)

    async def _hold_installs(self, stack: AsyncExitStack, runtime: str, others: list[str]) -> None:
        """Wait (bounded) for installs and removals on the target, and for Ollama pulls when Ollama is stopped."""
        held = [runtime]
        if "ollama" in others and await self.control.managed("ollama"):
            held.append("ollama")  # a pull needs the Ollama server this activation stops
        for name in held:
            lock = self.operations.lock(name)
            try:
                async with asyncio.timeout(self.settings.drain_timeout_seconds):
                    await lock.acquire()
            except TimeoutError:
                running = [op.operation_id for op in self.operations.recent(50) if op.runtime == name and not op.done]
                raise Conflict(
                    f"an install or removal on {name} is still running ({', '.join(running)}) after "
                    f"{self.settings.drain_timeout_seconds:g} s; nothing was changed: wait for it or cancel it "
                    "(cancel_operation)") from None
            stack.callback(lock.release)

    async def _stop_others(self, others: list[str], undo: Undo) -> None:
        for other in others:
            if await self.control.managed(other):
                before = self.state.configured(other)
                await self.control.stop(other)
                undo.stopped.append((other, before))
            elif other == "ollama":
                try:
                    gone = await self._unload_ollama([])
                except UpstreamError:
                    continue  # no Ollama running: nothing to unload
                undo.unloaded.extend(m.model for m in gone.unloaded)
            else:
                probe = await self.health.probe(other)
                if probe.answers:
                    undo.notes.append(f"{other} at {self.health.endpoint(other)} was not started by venom-mcp and "
                                      "keeps running (control_runtime stop force=true stops it)")

    async def _bring_up(self, runtime: str, model: str) -> None:
        if table.spec(runtime).kind == "cluster" and self.cluster is not None:
            await self.cluster.deploy(await self.control.registry.resolve(model))
            return
        if not table.spec(runtime).local:
            return
        if runtime == "ollama":
            if not (await self.health.probe("ollama")).answers:
                await self.control.start("ollama")
            options, keep_alive = self.settings.ollama_request()
            await self.ollama.load(model, keep_alive, options)
            return
        status = await self.health.server_status(runtime)
        if status.managed_by == "external":
            probe = await self.health.probe(runtime)
            if model not in probe.served:
                raise UpstreamError(
                    f"{runtime} at {status.endpoint} was not started by venom-mcp and serves "
                    f"{', '.join(probe.served) or 'nothing'}, not {model}: restart it with {model}, or stop it "
                    f"(control_runtime server={runtime} action=stop force=true) so that venom-mcp starts its own")
            return
        served = await self.control.start(runtime, model, restart=True)
        if served.status == "degraded":
            raise UpstreamError(served.error or f"{runtime} does not serve {model}")

    async def _confirm(self, runtime: str, model: str) -> None:
        """The runtime's own API lists the model under this name, and (local runtimes) a 1-token completion
        answers. A cloud is not billed for a probe: its model list must name the model."""
        if table.spec(runtime).kind == "cluster" and self.cluster is not None:
            await self.cluster.confirm(model)
            return
        if not table.spec(runtime).local:
            await self._confirm_cloud(runtime, model)
            return
        probe = await self.health.probe(runtime)
        if model not in probe.served:
            listed = ", ".join(probe.served) or "nothing"
            raise UpstreamError(f"{runtime} lists {listed}, not {model}" + (f" ({probe.error})" if probe.error else ""))
        try:
            if table.spec(runtime).protocol == "ollama":
                options, keep_alive = self.settings.ollama_request()
                await self.ollama.chat(model, CONFIRM_MESSAGES, {**options, "num_predict": 1}, keep_alive,
                                       wait_seconds=self.settings.llm_timeout_seconds)
            else:
                await self.clients.chat(base_url=table.endpoint(self.settings, runtime),
                                        api_key=table.api_key(self.settings, runtime), model=model,
                                        messages=CONFIRM_MESSAGES, params={"max_tokens": 1})
        except VenomError:
            raise
        except Exception as exc:  # the SDK's own errors: the model does not answer
            raise UpstreamError(self.health.mask(f"a 1-token completion failed: {type(exc).__name__}: {exc}")) from exc

    async def _confirm_cloud(self, runtime: str, model: str) -> None:
        key = table.api_key(self.settings, runtime)
        try:
            client = self.clients.get(table.endpoint(self.settings, runtime), key)
            # Gemini's OpenAI-compatible API lists "models/<id>".
            listed = [str(m.id).removeprefix("models/") async for m in client.models.list()]
        except Exception as exc:  # auth, network, anything: the cloud is not usable now
            raise UpstreamError(self.health.mask(
                f"{runtime} at {self.health.endpoint(runtime)} did not answer: {type(exc).__name__}: {exc}")) from exc
        if listed and model not in listed:
            raise UpstreamError(f"{runtime} does not offer {model}; it lists e.g. {', '.join(sorted(listed)[:8])}")

    async def _roll_back(self, runtime: str, model: str, previous: tuple[str | None, str | None],
                         undo: Undo) -> str:
        """Put back what ran before; the words say how that went."""
        if table.spec(runtime).kind == "cluster" and self.cluster is not None:
            try:
                return f"; rolled back: {await self.cluster.roll_back(model)}"
            except VenomError as again:
                return f"; rolling back failed too: {str(again).splitlines()[0]}"
        done: list[str] = []
        try:
            if table.spec(runtime).local and runtime != "ollama" and await self.control.managed(runtime):
                await self.control.stop(runtime)  # the failed start, e.g. a server up under a wrong alias
            back_runtime, back_model = previous
            if back_runtime == runtime and back_model and back_model != model and runtime != "ollama":
                await self.control.start(runtime, back_model, restart=True)
                done.append(f"{back_model} on {runtime}")
            for other, other_model in undo.stopped:
                await self.control.start(other, other_model if other != "ollama" else None, restart=True)
                done.append(f"{other}" + (f" with {other_model}" if other_model else ""))
            for name in undo.unloaded:
                options, keep_alive = self.settings.ollama_request()
                await self.ollama.load(name, keep_alive, options)
                done.append(f"{name} on ollama")
        except VenomError as again:
            return f"; rolling back failed too: {str(again).splitlines()[0]}"
        return f"; rolled back to {', '.join(done)}, which is serving again" if done else "; nothing was changed"

    # ---- unload ------------------------------------------------------------------------------------

    async def unload(self, runtime: str | None) -> UnloadResult:
        if runtime is not None and table.spec(runtime).kind == "cluster" and self.cluster is not None:
            async with self.gates.exclusive([runtime], self.settings.drain_timeout_seconds):
                models, errors = await self.cluster.unload()
            return UnloadResult(unloaded=[UnloadedModel(runtime="ray", model=m) for m in models], errors=errors,
                                memory_freed_mb=0)
        if runtime is not None and not table.spec(runtime).local:
            raise InvalidArgument(f"{runtime} is a cloud runtime: there is nothing to unload; give ollama, vllm or "
                                  "llamacpp, or omit runtime for all")
        names = [runtime] if runtime else list(table.LOCAL_RUNTIMES)
        result = UnloadResult(unloaded=[], errors=[], memory_freed_mb=0)
        async with self.gates.exclusive(names, self.settings.drain_timeout_seconds):
            for name in names:
                if name == "ollama":
                    try:
                        part = await self._unload_ollama(result.errors)
                    except UpstreamError as exc:
                        if runtime == "ollama":
                            result.errors.append(str(exc))
                        continue
                    result.unloaded += part.unloaded
                    result.memory_freed_mb += part.memory_freed_mb
                else:
                    await self._unload_server(name, result)
        result.memory_freed_mb = round(result.memory_freed_mb, 1)
        return result

    async def _unload_ollama(self, errors: list[str]) -> UnloadResult:
        """keep_alive 0 for every model in /api/ps, then wait until /api/ps no longer lists them."""
        loaded = {str(m.get("name")): int(m.get("size") or 0) for m in await self.ollama.ps()}
        for name in loaded:
            await self.ollama.load(name, 0)
        remaining = set(loaded)
        deadline = asyncio.get_running_loop().time() + UNLOAD_CONFIRM_SECONDS
        while remaining:
            remaining &= {str(m.get("name")) for m in await self.ollama.ps()}
            if not remaining or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.2)
        gone = [n for n in loaded if n not in remaining]
        errors += [f"ollama still lists {n} as loaded after {UNLOAD_CONFIRM_SECONDS:g} s" for n in remaining]
        return UnloadResult(unloaded=[UnloadedModel(runtime="ollama", model=n) for n in gone], errors=[],
                            memory_freed_mb=sum(loaded[n] for n in gone) / 2**20)

    async def _unload_server(self, name: str, result: UnloadResult) -> None:
        status = await self.health.server_status(name)
        if await self.control.managed(name):
            model = status.model or status.served_model_name
            freed = status.memory_mb or 0
            stopped = await self.control.stop(name)
            if stopped.status == "offline":
                result.unloaded.append(UnloadedModel(runtime=name, model=model or "unknown"))  # type: ignore[arg-type]
                result.memory_freed_mb += freed
            else:
                result.errors.append(f"{name} did not stop: {stopped.error or stopped.status}")
        elif status.managed_by == "external" and status.status != "offline":
            result.errors.append(f"{name} at {status.endpoint} was not started by venom-mcp, so it was not unloaded "
                                 f"(control_runtime server={name} action=stop force=true stops it)")
