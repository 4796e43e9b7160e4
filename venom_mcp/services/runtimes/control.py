"""Starting and stopping the local runtime servers: a systemd unit (its model, alias and port written to
`$VENOM_HOME/run/<runtime>.env`, which the unit reads), or a process venom-mcp starts itself. A process on the
port that venom-mcp did not start is left alone unless the caller forces it, and then only that pid is stopped."""

from __future__ import annotations

import asyncio
import os
import time

from ...adapters import runtimes as table
from ...adapters import system
from ...adapters.processes import Systemd, build_argv, clean_environment, write_environment_file
from ...errors import ConfigError, InvalidArgument, UpstreamError
from ...records import ServerStatus
from ..registry import ModelRegistry
from .health import Health, ollama_host

POLL_SECONDS = 0.2


class Control:
    def __init__(self, health: Health, registry: ModelRegistry) -> None:
        self.health = health
        self.settings = health.settings
        self.supervisor = health.supervisor
        self.registry = registry

    # ---- what a start needs ------------------------------------------------------------------------

    async def _values(self, runtime: str, model: str | None) -> dict[str, str]:
        """The placeholders of the start command (and the unit's environment file) for `model`."""
        host, port = table.host_port(self.settings, runtime)
        if runtime == "ollama":
            return {"host": host, "port": port, "model_path": "", "served_model_name": ""}
        if model is None:
            raise InvalidArgument(f"{runtime} has no model to serve: activate_model <name> runtime={runtime} first")
        entry = await self.registry.resolve(model)
        if not entry.local_path:
            raise ConfigError(f"{model} has no local files to serve; install it again")
        return {"host": host, "port": port, "model_path": entry.local_path, "served_model_name": entry.name}

    def _ollama_environment(self) -> dict[str, str]:
        values = {k: v for k, v in os.environ.items() if k.startswith("OLLAMA_")}
        values.update(self.settings.ollama_tuning())
        values["OLLAMA_HOST"] = ollama_host(table.endpoint(self.settings, "ollama"))
        return values

    def write_unit_environment(self, runtime: str, values: dict[str, str]) -> None:
        if runtime == "ollama":
            environment = self._ollama_environment()
        else:
            environment = {"VENOM_MODEL_PATH": values["model_path"], "VENOM_SERVED_MODEL_NAME": values[
                "served_model_name"], "VENOM_HOST": values["host"], "VENOM_PORT": values["port"]}
        write_environment_file(self.settings.path("run", f"{runtime}.env"), environment)

    # ---- start, stop, restart ----------------------------------------------------------------------

    async def start(self, runtime: str, model: str | None = None, restart: bool = False) -> ServerStatus:
        """Start `runtime` (serving `model`) and wait until it answers. With `restart`, a running one is
        restarted; without, a running one is left as it is."""
        model = model or (None if runtime == "ollama" else self.health.state.configured(runtime))
        current = await self.health.server_status(runtime)
        if current.status != "offline" and not restart:
            return current
        values = await self._values(runtime, model)
        unit = self.health.unit(runtime)
        if unit:
            self.write_unit_environment(runtime, values)
            action = "restart" if restart else "start"
            result = await asyncio.to_thread(Systemd.run, action, unit)
            if result.returncode != 0:
                raise UpstreamError(f"systemctl {action} {unit} failed: {result.stderr.strip()}")
        else:
            if current.managed_by == "external":
                raise UpstreamError(
                    f"{runtime} at {current.endpoint} was not started by venom-mcp (pid {current.pid or 'unknown'}"
                    f"{', ' + current.command if current.command else ''}), so it cannot be restarted with {model}: "
                    f"stop it (control_runtime server={runtime} action=stop force=true) and venom-mcp starts its own")
            await asyncio.to_thread(self.supervisor.stop, runtime)
            argv = build_argv(table.command(self.settings, runtime), **values)
            env = clean_environment(self._ollama_environment() if runtime == "ollama" else None)
            await asyncio.to_thread(self.supervisor.start, runtime, argv, env, model, model)
        return await self.wait_healthy(runtime, model)

    async def wait_healthy(self, runtime: str, model: str | None) -> ServerStatus:
        """Poll until the server answers. It answering with other model names than `model` ends the wait at
        once, as `degraded` with the mismatch in `error` (a wrong alias does not fix itself)."""
        deadline = time.monotonic() + self.settings.start_timeout_seconds
        while True:
            probe = await self.health.probe(runtime)
            if probe.answers and (runtime == "ollama" or model is None or model in probe.served):
                self.health.last_error.pop(runtime, None)
                return await self.health.server_status(runtime)
            if probe.answers:
                status = await self.health.server_status(runtime)
                status.status = "degraded"
                status.error = (f"{runtime} answers but serves {', '.join(probe.served) or 'nothing'}, not {model}: "
                                "check the alias in its start command or unit (--served-model-name / --model_alias "
                                "{served_model_name})")
                return status
            code = self.supervisor.exited(runtime)
            if code is not None or time.monotonic() > deadline:
                tail = self.supervisor.log_tail(runtime)
                await asyncio.to_thread(self.supervisor.stop, runtime)
                why = f"exited with status {code}" if code is not None else (
                    f"was not healthy within {self.settings.start_timeout_seconds:g} s (VENOM_START_TIMEOUT_SECONDS)")
                message = f"{runtime} {why}" + (f"; last log lines:\n{tail}" if tail else "")
                self.health.last_error[runtime] = message
                raise UpstreamError(message)
            await asyncio.sleep(POLL_SECONDS)

    async def stop(self, runtime: str, force: bool = False) -> ServerStatus:
        unit = self.health.unit(runtime)
        if unit:
            result = await asyncio.to_thread(Systemd.run, "stop", unit)
            if result.returncode != 0:
                raise UpstreamError(f"systemctl stop {unit} failed: {result.stderr.strip()}")
        elif not await asyncio.to_thread(self.supervisor.stop, runtime):
            status = await self.health.server_status(runtime)
            if status.managed_by != "external":
                return status
            stray = await self.health.stray(runtime)
            if not force or stray is None:
                status.error = ("started outside venom-mcp, so it was not stopped"
                                + ("; force=true stops that pid" if stray else
                                   "; its process is not visible here (another user or machine)"))
                return status
            await asyncio.to_thread(system.terminate, stray.pid, stray.create_time)
        self.health.last_error.pop(runtime, None)
        return await self.health.server_status(runtime)

    async def managed(self, runtime: str) -> bool:
        """Whether venom-mcp runs this server now (a unit that is active, or a process it started)."""
        unit = self.health.unit(runtime)
        if unit:
            return await asyncio.to_thread(Systemd.active, unit)
        return await asyncio.to_thread(self.supervisor.record, runtime) is not None
