"""Resource subscriptions: the services' change events as MCP notifications.

- `venom://operations/{id}`: every change of that operation (progress included);
- `venom://runtime/status`: a write of runtime.json (activation, switch), a server started, stopped or unloaded by
  venom-mcp, a runtime alert (the alert watcher saw a server go down or come back);
- `venom://models/installed`: a write of the manifest (install, removal) or of runtime.json (the active mark);
- `venom://models/{name}/capabilities`: that model installed again or removed;
- `list_changed` when the set of installed models changes (resources/list names each one's capabilities).

Each URI is sent at once, then at most every INTERVAL seconds while it keeps changing, and always once after its
last change: a pull reports progress many times a second, a client needs the latest state, not every step.
Nothing is sent for a URI no session subscribed to, and the services are not watched before a client subscribes
or lists the resources (start-up stays light: no manifest or history is read for it). A model Ollama or the cache
gained outside venom-mcp is not noticed (nothing watches them); resources/read always shows it."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from .app import App
    from .records import Alert, ModelMetadata, Operation
    from .sessions import Sessions

log = logging.getLogger(__name__)

INSTALLED = "venom://models/installed"
RUNTIME = "venom://runtime/status"
INTERVAL = 0.5
LIST = ""  # the key of list_changed among the URIs


def operation_uri(operation_id: str) -> str:
    return f"venom://operations/{operation_id}"


def capabilities_uri(name: str) -> str:
    return f"venom://models/{quote(name, safe='')}/capabilities"


class ResourceEvents:
    """Coalesces changes per URI and sends them through `sessions`; called on the event loop."""

    def __init__(self, app: App, sessions: Sessions, interval: float = INTERVAL) -> None:
        self._app = app
        self._sessions = sessions
        self._interval = interval
        self._again: dict[str, bool] = {}  # URI being sent -> changed again since
        self._tasks: set[asyncio.Task[None]] = set()
        self._watching = False

    def watch(self) -> None:
        """Hook the services' listeners, once: on the first subscription or resources/list."""
        if not self._watching:
            self._watching = True
            _hook(self._app, self)

    def changed(self, uri: str) -> None:
        if uri != LIST and not self._sessions.watched(uri):
            return
        if uri in self._again:
            self._again[uri] = True
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a change made outside the server): there is no session to tell
            return
        self._again[uri] = False
        task = loop.create_task(self._send(uri), name=f"venom-mcp notify {uri or 'list_changed'}")
        self._tasks.add(task)  # referenced until done
        task.add_done_callback(self._tasks.discard)

    def list_changed(self) -> None:
        self.changed(LIST)

    @property
    def idle(self) -> bool:
        """No notification is waiting to go out (none is rate-limited either)."""
        return not self._again

    async def _send(self, uri: str) -> None:
        try:
            while True:
                self._again[uri] = False
                if uri == LIST:
                    await self._sessions.list_changed()
                else:
                    await self._sessions.updated(uri)
                await asyncio.sleep(self._interval)  # a rate limit: what changed meanwhile goes in one message
                if not self._again[uri]:
                    return
        except Exception:  # a notification is a courtesy: its failure must not surface anywhere else
            log.exception("sending a resource notification for %s failed", uri or "list_changed")
        finally:
            del self._again[uri]


def _hook(app: App, events: ResourceEvents) -> None:
    known = {m.name: _signature(m) for m in app.registry.manifest()}

    def manifest_written(models: list[ModelMetadata]) -> None:
        now = {m.name: _signature(m) for m in models}
        events.changed(INSTALLED)
        for name in known.keys() | now.keys():
            if known.get(name) != now.get(name):
                events.changed(capabilities_uri(name))
        if known.keys() != now.keys():
            events.list_changed()
        known.clear()
        known.update(now)

    def runtimes_changed() -> None:
        events.changed(RUNTIME)
        events.changed(INSTALLED)  # its `active` marks

    def operation_changed(op: Operation) -> None:
        events.changed(operation_uri(op.operation_id))

    async def alerted(event: str, alert: Alert) -> None:
        if alert.kind == "runtime":
            events.changed(RUNTIME)

    app.registry.store.listeners.append(manifest_written)
    app.runtime_state.listeners.append(runtimes_changed)
    app.operations.listeners.append(operation_changed)
    app.alerts.listen(alerted)


def _signature(model: ModelMetadata) -> tuple[object, ...]:
    return (model.installed_at, model.sha256, model.runtime)


__all__ = ["INSTALLED", "RUNTIME", "ResourceEvents", "capabilities_uri", "operation_uri"]
