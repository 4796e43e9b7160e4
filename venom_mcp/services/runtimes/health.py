"""Health of the local runtime servers: does it answer, which models does it list, who manages it, and what
process holds its port. A server that answers with another model name than the configured one is `degraded`
at the first poll (clients asking for the configured name get 404)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ...adapters import runtimes as table
from ...adapters import system
from ...adapters.ollama import OllamaAdapter
from ...adapters.openai_compat import served_models
from ...adapters.processes import ProcessSupervisor, Systemd
from ...config import Settings
from ...errors import NotFound, Unreachable, UpstreamError
from ...records import OllamaTuning, ServerStatus
from ..runtime_state import RuntimeState

SLOW_SECONDS = 5.0
LOOPBACK = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"}  # noqa: S104 - hosts whose listener we can see


@dataclass(frozen=True)
class Probe:
    answers: bool
    served: list[str]
    error: str | None
    seconds: float
    refused: bool = False  # no connection at all: nothing listens there (a hung server times out instead)


class Health:
    def __init__(self, settings: Settings, state: RuntimeState, ollama: OllamaAdapter, http: httpx.AsyncClient,
                 supervisor: ProcessSupervisor, mask: Callable[[str], str]) -> None:
        self.settings = settings
        self.state = state
        self.ollama = ollama
        self.http = http
        self.supervisor = supervisor
        self.mask = mask
        self.last_error: dict[str, str] = {}  # why the last start failed, shown until it serves again
        self._ollama_service: bool | None = None  # whether an ollama.service unit exists (asked once)
        self._listeners: dict[int, system.Listener] = {}  # by port: the process last found listening there
        self._trees = system.ProcessTrees()

    def endpoint(self, runtime: str) -> str:
        """The endpoint as shown in results, history and logs: a key in its URL is masked."""
        return self.mask(table.endpoint(self.settings, runtime))

    def unit(self, runtime: str) -> str | None:
        unit = table.unit(self.settings, runtime)
        return unit if unit and Systemd.available() else None

    async def probe(self, runtime: str) -> Probe:
        """Ask the server what it serves: Ollama's loaded models (/api/ps), or an OpenAI server's /models."""
        started = time.monotonic()
        try:
            if table.spec(runtime).protocol == "ollama":
                served = [str(m.get("name")) for m in await self.ollama.ps()]  # answers only if it is Ollama
            else:
                served = await served_models(self.http, table.endpoint(self.settings, runtime))
        except (UpstreamError, NotFound) as exc:
            return Probe(False, [], self.mask(str(exc)), time.monotonic() - started, isinstance(exc, Unreachable))
        return Probe(True, served, None, time.monotonic() - started)

    async def stray(self, runtime: str) -> system.Listener | None:
        """The process on the runtime's configured port when it is on this machine (None when not visible).
        The one found last is kept while it runs: finding it anew reads every process's sockets (tens of ms on a
        busy machine), and a server does not hand its port to another process while it lives."""
        host, port = table.host_port(self.settings, runtime)
        if host not in LOOPBACK:
            return None
        known = self._listeners.get(int(port))
        if known is not None and await asyncio.to_thread(system.still_running, known):
            return known
        found = await asyncio.to_thread(system.listener, int(port))
        if found is None:
            self._listeners.pop(int(port), None)
        else:
            self._listeners[int(port)] = found
        return found

    async def server_status(self, runtime: str) -> ServerStatus:
        expected = self.state.configured(runtime)
        unit = self.unit(runtime)
        record, probe = await asyncio.gather(asyncio.to_thread(self.supervisor.record, runtime), self.probe(runtime))
        pid = record.pid if record else (await asyncio.to_thread(Systemd.main_pid, unit) if unit else None)
        command: str | None = None
        notes: list[str] = []
        managed: Any = "systemd" if unit else "process" if record else "none"
        if managed == "none" and not probe.refused:  # a refused connection: no process there to name
            stray = await self.stray(runtime)
            if stray is not None or probe.answers:
                managed = "external"
                if stray is not None:
                    pid, command = stray.pid, stray.command
                    notes.append("not started by venom-mcp: control_runtime stop leaves it running unless force=true")
        served = ", ".join(probe.served) or None
        error = probe.error or self.last_error.get(runtime)
        # Ollama loads on demand, so serving nothing is fine; an OpenAI server that lists nothing loaded (llama-server
        # in router mode) cannot answer anyone.
        lazy = table.spec(runtime).protocol == "ollama" and not probe.served
        matches = (expected in probe.served or lazy) if expected is not None else (bool(probe.served) or lazy)
        status: Any
        switching = self.state.switching()
        if switching is not None and switching.runtime == runtime:
            status, error = "switching", f"switching to {switching.model} (operation {switching.operation_id})"
        elif not probe.answers:
            status = "offline"
        elif not matches:
            status = "degraded"
            error = (f"serves {served or 'nothing'} but {expected} is configured: clients asking for it get 404"
                     if expected is not None else "answers, but has no model loaded: activate one with activate_model")
        elif probe.seconds > SLOW_SECONDS:
            status, error = "degraded", f"answered, but slowly ({probe.seconds:.1f} s)"
        else:
            status, error = "online", None
        tree = await asyncio.to_thread(self._trees.measure, pid, tuple(probe.served)) if pid else None
        tuning = self.ollama_tuning(managed) if runtime == "ollama" else None
        if runtime == "ollama" and not unit and await self._ollama_unit_exists():
            notes.append("an ollama.service unit exists: set VENOM_OLLAMA_SYSTEMD_UNIT=ollama.service to let "
                             "venom-mcp drive it (deploy/systemd/README.md)")
        return ServerStatus(
            name=runtime,  # type: ignore[arg-type]
            status=status, endpoint=self.endpoint(runtime), pid=pid if tree else None, model=expected,
            served_model_name=served, memory_mb=tree[0] if tree else None, uptime_seconds=tree[1] if tree else None,
            managed_by=managed, command=command, error=error, tuning=tuning, notes=notes,
        )

    async def _ollama_unit_exists(self) -> bool:
        if self._ollama_service is None:
            self._ollama_service = Systemd.available() and await asyncio.to_thread(Systemd.exists, "ollama.service")
        return self._ollama_service

    def ollama_tuning(self, managed: str) -> OllamaTuning:
        values = self.settings.ollama_tuning()
        server = {k: v for k, v in values.items() if k not in ("OLLAMA_CONTEXT_LENGTH", "OLLAMA_KEEP_ALIVE")}
        applied = managed in ("process", "systemd")
        listed = " ".join(f"{k}={v}" for k, v in server.items())
        note = (f"applied to the ollama serve venom-mcp runs ({listed})" if applied else
                f"set on the Ollama server: {listed} (venom-mcp did not start it, so it cannot set them; "
                "num_ctx and keep_alive are sent with every request)")
        return OllamaTuning(
            profile=self.settings.ollama_profile, num_ctx=int(values["OLLAMA_CONTEXT_LENGTH"]),
            keep_alive=values["OLLAMA_KEEP_ALIVE"], server_settings=server, server_settings_applied=applied,
            note=note,
        )


def ollama_host(url: str) -> str:
    """OLLAMA_HOST as `ollama serve` reads it: host:port."""
    parts = urlsplit(url)
    return f"{parts.hostname or '127.0.0.1'}:{parts.port or table.spec('ollama').default_port}"
