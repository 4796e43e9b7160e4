"""Long work (installs, removals, activations) as Operations: a queue with per-runtime locks, real progress, cancel,
and a bounded history persisted in $VENOM_HOME/operations.json (newest first)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from ..cache import describe
from ..errors import NotFound
from ..history_file import HistoryFile
from ..records import ACTIVE_STATUSES, Operation, OperationType, Provider, Runtime

log = logging.getLogger(__name__)

HISTORY = 200
PERSIST_EVERY_SECONDS = 1.0


class Progress:
    """What a running job reports: bytes as the source counts them, and a status text."""

    def __init__(self, operations: Operations, operation: Operation) -> None:
        self._operations = operations
        self._operation = operation

    @property
    def operation_id(self) -> str:
        return self._operation.operation_id

    def update(self, bytes_done: int | None, bytes_total: int | None, message: str | None = None) -> None:
        op = self._operation
        if bytes_total:
            done = min(bytes_done or 0, bytes_total)
            op.bytes_done, op.bytes_total = done, bytes_total
            op.progress = round(100 * done / bytes_total, 2)
        elif bytes_done is not None:
            op.bytes_done = bytes_done
        if message is not None:
            op.message = message
        self._operations.changed(op)


Job = Callable[[Progress], Awaitable[str | None]]


class Operations:
    def __init__(self, path: Path) -> None:
        # Written under the file's lock: another venom-mcp process (the CLI beside a server) may write it too.
        self._file = HistoryFile(path, "operations", self._kept, every=PERSIST_EVERY_SECONDS, lock=True)
        self._ops: dict[str, Operation] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._failures: dict[str, BaseException] = {}
        self._closing = False
        # Called with the operation on every change (progress included), on the loop; the MCP face turns them into
        # resource notifications. A listener must be quick and must not raise.
        self.listeners: list[Callable[[Operation], None]] = []
        self._load()

    # ---- queries --------------------------------------------------------------------------------

    def get(self, operation_id: str) -> Operation:
        op = self._ops.get(operation_id)
        if op is None:
            raise NotFound(f"no operation {operation_id!r}; list_operations shows the known ones")
        return op

    def recent(self, limit: int) -> list[Operation]:
        ordered = sorted(self._ops.values(), key=lambda o: o.started_at or datetime.min.replace(tzinfo=UTC))
        return list(reversed(ordered))[:limit]

    def running(self, model_name: str, provider: str, operation_type: str) -> Operation | None:
        for op in self._ops.values():
            if (op.model_name, op.provider, op.operation_type) == (model_name, provider, operation_type) and (
                op.status in ACTIVE_STATUSES
            ):
                return op
        return None

    def installed_by(self, model_name: str, provider: str) -> Operation | None:
        """The newest completed install of this model, if the history still holds one."""
        done = [op for op in self._ops.values() if (op.model_name, op.provider, op.operation_type, op.status) == (
            model_name, provider, "install", "completed")]
        return max(done, key=lambda op: op.finished_at or op.started_at or datetime.min.replace(tzinfo=UTC),
                   default=None)

    def busy(self, runtime: str) -> bool:
        return any(op.runtime == runtime and op.status in ACTIVE_STATUSES for op in self._ops.values())

    # ---- running work ---------------------------------------------------------------------------

    def start(
        self, model_name: str, provider: Provider, runtime: Runtime, operation_type: OperationType, job: Job,
        exclusive: bool = True,
    ) -> Operation:
        """Run `job` as an Operation. `exclusive` jobs hold the runtime's lock while they run (installs and removals
        of one runtime queue); a job that takes the locks it needs itself, with bounds, passes False."""
        op = Operation(
            operation_id=str(uuid.uuid4()),
            model_name=model_name,
            provider=provider,
            runtime=runtime,
            operation_type=operation_type,
            message="queued",
            started_at=datetime.now(UTC),
        )
        self._ops[op.operation_id] = op
        self._file.changed(force=True)
        # The task is kept referenced until it is done, so the loop cannot drop it half-way.
        task = asyncio.create_task(self._run(op, job, exclusive), name=f"operation:{op.operation_id}")
        self._tasks[op.operation_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(op.operation_id, None))
        return op

    def lock(self, runtime: str) -> asyncio.Lock:
        return self._locks.setdefault(runtime, asyncio.Lock())

    def failure(self, operation_id: str) -> BaseException | None:
        """The exception a failed job raised in this process (its class says 400, 409 or 503 to the faces)."""
        return self._failures.get(operation_id)

    async def _run(self, op: Operation, job: Job, exclusive: bool) -> None:
        try:
            async with self.lock(op.runtime) if exclusive else contextlib.nullcontext():
                op.status, op.message = "in_progress", "started"
                self.changed(op, force=True)
                message = await job(Progress(self, op))
            op.status, op.progress, op.message = "completed", 100.0, message or "done"
            if op.bytes_total is not None:
                op.bytes_done = op.bytes_total
        except asyncio.CancelledError:
            if self._closing:  # the server is stopping, nobody asked for this: say so
                op.status, op.message = "interrupted", "interrupted: venom-mcp stopped; install again to resume"
            else:
                op.status, op.message = "cancelled", "cancelled by request"
        except Exception as exc:  # the job's failure is the operation's result, not a crash of the server
            log.warning("operation %s (%s %s) failed: %s", op.operation_id, op.operation_type, op.model_name, exc)
            self._failures[op.operation_id] = exc
            op.status, op.error = "failed", describe(exc)
            op.message = "failed"
        finally:
            op.finished_at = datetime.now(UTC)
            self.changed(op, force=True)

    async def cancel(self, operation_id: str) -> Operation:
        op = self.get(operation_id)
        task = self._tasks.get(operation_id)
        if task is None or op.done:
            return op
        task.cancel()
        await asyncio.wait({task})
        return op

    async def wait(
        self, operation_id: str, on_change: Callable[[Operation], Awaitable[None]] | None = None,
        interval: float = 0.25,
    ) -> Operation:
        """Wait until the operation ends, calling `on_change` at most every `interval` seconds while it runs and
        always once more with the final state (100 % when it completed), before returning: a client's progress bar
        must not stop at the last sample taken while it ran."""
        op = self.get(operation_id)
        task = self._tasks.get(operation_id)
        last = None
        while task is not None and not task.done():
            state = (op.status, op.bytes_done, op.message)
            if on_change is not None and state != last:
                last = state
                await on_change(op)
            await asyncio.wait({task}, timeout=interval)
        if on_change is not None:
            await on_change(op)
        return op

    async def aclose(self) -> None:
        """Cancel what is still running (process shutdown) and write the history."""
        self._closing = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        self._file.flush()

    # ---- persistence ----------------------------------------------------------------------------

    def changed(self, op: Operation, force: bool = False) -> None:
        """Record a change: state changes are written at once, progress at most every second; listeners hear
        of every change."""
        self._file.changed(force)
        for listener in self.listeners:
            try:
                listener(op)
            except Exception:  # a listener's bug must not fail the job that reported progress
                log.exception("an operation listener failed")

    def _kept(self) -> list[Operation]:
        """What the file holds, newest first: the HISTORY most recent operations (older ones are let go here too)."""
        history = self.recent(HISTORY)
        self._ops = {op.operation_id: op for op in history}
        self._failures = {k: v for k, v in self._failures.items() if k in self._ops}
        return history

    def _load(self) -> None:
        interrupted = False
        for item in self._file.read():
            try:
                op = Operation.model_validate(item)
            except ValueError:
                continue
            if op.status in ACTIVE_STATUSES:
                # It was running when the process that owned it stopped.
                op.status, interrupted = "interrupted", True
                op.message = "interrupted: venom-mcp stopped while this ran; install again to resume"
                op.finished_at = op.finished_at or datetime.now(UTC)
            self._ops[op.operation_id] = op
        if interrupted:
            self._file.changed(force=True)
