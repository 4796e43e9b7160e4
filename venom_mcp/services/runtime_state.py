"""The runtime state: `runtime.json` (which model each runtime serves, the active one, a switch in progress) and
the in-flight requests per runtime.

`RuntimeState` is the only writer of runtime.json: every change is a read-modify-write under one file lock, so
two writers cannot lose each other's update, and readers see the old file or the whole new one.

`RequestGates` counts the chat and translate requests in flight on each runtime. An activation closes the gates
of the runtimes it touches: it waits (bounded) for their requests to finish, and new requests on those runtimes
wait for it to end, so no request is cut off by a restart and none reaches a server half-way through a switch.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import Conflict, StateError
from ..records import Timestamp
from ..store import atomic_write_json, locked, read_json

log = logging.getLogger(__name__)


class Selection(BaseModel):
    runtime: str
    model: str


class Switch(Selection):
    operation_id: str
    started_at: Timestamp


class StateFile(BaseModel):
    """The layout of runtime.json. Unknown keys are kept, so an older or newer venom-mcp loses nothing."""

    model_config = ConfigDict(extra="allow")

    active: Selection | None = None
    models: dict[str, str] = Field(default_factory=dict, description="runtime -> the model configured there")
    switching: Switch | None = None
    updated_at: Timestamp | None = None


class RuntimeState:
    def __init__(self, path: Path) -> None:
        self._path = path
        # Called after every change of the runtimes (a write of runtime.json, or `touched`); the MCP face turns
        # them into resource notifications. A listener must be quick and must not raise.
        self.listeners: list[Callable[[], None]] = []
        self._seen: tuple[tuple[int, int, int, int], StateFile] | None = None  # the file's identity, its state

    def read(self) -> StateFile:
        """The state as the file holds it now; not to be changed (`update` changes it). A chat reads it several
        times, so the parsed file is kept while the file is the same one: every write replaces it (a new inode),
        and another process's write is seen as soon as it is done."""
        try:
            stat = os.stat(self._path)
        except OSError:
            return self._load()
        seen = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
        if self._seen is None or self._seen[0] != seen:
            self._seen = (seen, self._load())
        return self._seen[1]

    def _load(self) -> StateFile:
        try:
            raw = read_json(self._path)
            return StateFile.model_validate(raw or {})
        except (StateError, ValidationError) as exc:
            log.error("%s is unreadable (%s); treating no model as active", self._path.name,
                      str(exc).splitlines()[0])
            return StateFile()

    def update(self, change: Callable[[StateFile], None]) -> StateFile:
        """Apply `change` to the current state and write it, all under the file lock."""
        with locked(self._path):
            state = self._load()  # a copy of its own: the one `read` keeps is never changed
            change(state)
            state.updated_at = datetime.now(UTC)
            atomic_write_json(self._path, state.model_dump(mode="json", exclude_none=False))
        self.touched()
        return state

    def touched(self) -> None:
        """Tell the listeners that the runtimes changed in a way runtime.json does not hold (a server started,
        stopped or unloaded its models)."""
        for listener in self.listeners:
            try:
                listener()
            except Exception:  # a listener's bug must not fail the change itself
                log.exception("a runtime state listener failed")

    # ---- reads ------------------------------------------------------------------------------------

    def active(self) -> tuple[str | None, str | None]:
        active = self.read().active
        return (active.runtime, active.model) if active else (None, None)

    def configured(self, runtime: str) -> str | None:
        return self.read().models.get(runtime)

    def switching(self) -> Switch | None:
        return self.read().switching

    # ---- writes -----------------------------------------------------------------------------------

    def record(self, runtime: str, model: str, active: bool = True) -> None:
        def change(state: StateFile) -> None:
            state.models[runtime] = model
            if active:
                state.active = Selection(runtime=runtime, model=model)

        self.update(change)

    def begin_switch(self, runtime: str, model: str, operation_id: str) -> None:
        def change(state: StateFile) -> None:
            state.switching = Switch(runtime=runtime, model=model, operation_id=operation_id,
                                     started_at=datetime.now(UTC))

        self.update(change)

    def end_switch(self, operation_id: str, runtime: str | None = None, model: str | None = None) -> None:
        """Clear the switch marker and, when `runtime` is given, record its model as the active one."""

        def change(state: StateFile) -> None:
            if state.switching is not None and state.switching.operation_id == operation_id:
                state.switching = None
            if runtime is not None and model is not None:
                state.models[runtime] = model
                state.active = Selection(runtime=runtime, model=model)

        self.update(change)


class RequestGates:
    """Per runtime: how many requests are in flight, and whether an activation holds it."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self._in_flight: dict[str, int] = {}
        self._closed: set[str] = set()

    def in_flight(self, runtime: str) -> int:
        return self._in_flight.get(runtime, 0)

    @asynccontextmanager
    async def request(self, runtime: str) -> AsyncIterator[None]:
        """Hold `runtime` open for one request; waits while an activation holds it."""
        async with self._changed:
            await self._changed.wait_for(lambda: runtime not in self._closed)
            self._in_flight[runtime] = self.in_flight(runtime) + 1
        try:
            yield
        finally:
            async with self._changed:
                self._in_flight[runtime] -= 1
                self._changed.notify_all()

    @asynccontextmanager
    async def exclusive(self, runtimes: Iterable[str], drain_seconds: float) -> AsyncIterator[None]:
        """Close the gates of `runtimes`, wait up to `drain_seconds` for their requests to finish, and hold them."""
        wanted = set(runtimes)
        async with self._changed:
            # Another activation holding one of them: wait for it first (activations also serialize above).
            await self._changed.wait_for(lambda: not (wanted & self._closed))
            self._closed |= wanted
        try:
            async with self._changed:
                try:
                    async with asyncio.timeout(drain_seconds):
                        await self._changed.wait_for(lambda: all(self.in_flight(r) == 0 for r in wanted))
                except TimeoutError:
                    busy = ", ".join(f"{self.in_flight(r)} on {r}" for r in sorted(wanted) if self.in_flight(r))
                    raise Conflict(
                        f"requests still running after {drain_seconds:g} s ({busy}); nothing was changed: try again "
                        "when they finish, or raise VENOM_DRAIN_TIMEOUT_SECONDS") from None
            yield
        finally:
            async with self._changed:
                self._closed -= wanted
                self._changed.notify_all()
