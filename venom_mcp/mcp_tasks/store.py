"""The task store behind tasks/get, tasks/result, tasks/list and tasks/cancel: the SDK's TaskStore interface, kept
in memory (a task is a view of an Operation, which operations.json keeps across restarts).

It differs from the SDK's InMemoryTaskStore where long installs need it:
- a running task never expires: the client's `ttl` counts from the task's end (an install outlives a minute);
- the first end wins: once completed, failed or cancelled, a task's status and result no longer change, so a
  tasks/cancel racing the operation's own end is answered consistently and never raises in the runner;
- every waiter wakes on a change (tasks/result of two clients, or of a client that asks twice)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import anyio
from mcp.shared.experimental.tasks.helpers import create_task_state, is_terminal
from mcp.shared.experimental.tasks.store import TaskStore
from mcp.types import Result, Task, TaskMetadata, TaskStatus

POLL_MS = 1000  # installs report progress about every second
KEEP_ENDED = 500  # ended tasks kept at most, oldest dropped first


@dataclass
class _Entry:
    task: Task
    result: Result | None = None
    expires_at: datetime | None = None
    changed: anyio.Event = field(default_factory=anyio.Event)


class OperationTaskStore(TaskStore):
    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    async def create_task(self, metadata: TaskMetadata, task_id: str | None = None) -> Task:
        self._expire()
        task = create_task_state(metadata, task_id)
        if task.taskId in self._entries:
            raise ValueError(f"task {task.taskId} exists already")
        task.pollInterval = POLL_MS
        self._entries[task.taskId] = _Entry(task)
        return task.model_copy()

    async def get_task(self, task_id: str) -> Task | None:
        self._expire()
        entry = self._entries.get(task_id)
        return entry.task.model_copy() if entry else None

    async def update_task(self, task_id: str, status: TaskStatus | None = None,
                          status_message: str | None = None) -> Task:
        entry = self._entry(task_id)
        if is_terminal(entry.task.status):  # the first end wins
            return entry.task.model_copy()
        now = datetime.now(UTC)
        if status_message is not None:
            entry.task.statusMessage = status_message
        entry.task.lastUpdatedAt = now
        if status is not None and status != entry.task.status:
            entry.task.status = status
            if is_terminal(status) and entry.task.ttl is not None:
                entry.expires_at = now + timedelta(milliseconds=entry.task.ttl)
            await self.notify_update(task_id)
        return entry.task.model_copy()

    async def store_result(self, task_id: str, result: Result) -> None:
        entry = self._entry(task_id)
        if not is_terminal(entry.task.status):
            entry.result = result

    async def get_result(self, task_id: str) -> Result | None:
        entry = self._entries.get(task_id)
        return entry.result if entry else None

    async def list_tasks(self, cursor: str | None = None) -> tuple[list[Task], str | None]:
        self._expire()
        ids = list(self._entries)
        start = ids.index(cursor) + 1 if cursor in self._entries else 0
        return [self._entries[i].task.model_copy() for i in ids[start:]], None

    async def delete_task(self, task_id: str) -> bool:
        return self._entries.pop(task_id, None) is not None

    async def wait_for_update(self, task_id: str) -> None:
        await self._entry(task_id).changed.wait()

    async def notify_update(self, task_id: str) -> None:
        if (entry := self._entries.get(task_id)) is not None:
            entry.changed.set()
            entry.changed = anyio.Event()  # the next wait waits for the next change

    def _entry(self, task_id: str) -> _Entry:
        entry = self._entries.get(task_id)
        if entry is None:
            raise ValueError(f"no task {task_id}")
        return entry

    def _expire(self) -> None:
        now = datetime.now(UTC)
        for task_id in [i for i, e in self._entries.items() if e.expires_at is not None and e.expires_at <= now]:
            del self._entries[task_id]
        ended = [i for i, e in self._entries.items() if is_terminal(e.task.status)]
        for task_id in ended[:max(0, len(ended) - KEEP_ENDED)]:
            del self._entries[task_id]
