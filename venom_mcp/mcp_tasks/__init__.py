"""install_model and activate_model as MCP tasks, for clients that send task metadata with tools/call.

The client gets a task handle at once; tasks/get shows its status (the operation's progress in `statusMessage`),
tasks/result waits for the end and answers what the call without a task would have answered (install_model: the
finished Operation, as with wait=true; activate_model: the ActiveRuntime), tasks/cancel cancels the operation.
The task ends when the operation ends, whoever ended it (cancel_operation included). Progress notifications keep
coming with the call's progressToken while the task runs, as the tasks specification has it.

An install is started, and confirmed if it is large, inside the tools/call request; its errors (a bad name, a
declined confirmation) come back as a task that failed with the error result. Clients that send no task metadata
see no change. The SDK's default handlers serve tasks/get, tasks/result and tasks/list (each client sees its own
tasks); tasks/cancel is ours, since only we know which operation a task runs.

This is the SDK's experimental task support (SEP-1686 of MCP 2025-11-25). The SDK deprecates it for mcp 2.0, where
tasks return as an MCP extension; the deprecation warnings of its entry points are silenced here, in one place.
"""

from __future__ import annotations

import contextlib
import warnings
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from mcp.shared.exceptions import McpError
from mcp.shared.experimental.tasks.helpers import is_terminal
from mcp.types import (
    INVALID_PARAMS,
    CallToolResult,
    CancelTaskRequest,
    CancelTaskResult,
    CreateTaskResult,
    ErrorData,
    TaskStatus,
    TextContent,
)

from ..errors import VenomError
from .store import OperationTaskStore

if TYPE_CHECKING:
    from mcp.server.experimental.task_context import ServerTaskContext
    from mcp.server.fastmcp import Context, FastMCP
    from mcp.server.lowlevel import Server
    from mcp.server.session import ServerSession
    from mcp.types import ProgressToken

    from ..app import App
    from ..records import Operation

TASK_TOOLS = frozenset({"install_model", "activate_model"})
CLOSED = (anyio.ClosedResourceError, anyio.BrokenResourceError)
# How often a running task checks that its client is still connected. A client that left cannot ask about its task
# any more; its session must be free to end (stdio's end ends the process) while the operation goes on.
CONNECTED_POLL_S = 1.0

Call = Callable[[str, dict[str, Any]], Awaitable[CallToolResult]]
Finished = Callable[[str, Callable[["Operation"], Awaitable[None]]], Awaitable["Operation"]]


class _ClientLeft(Exception):
    """The task's session can no longer be told anything: stop following the operation (it goes on)."""


@dataclass
class _Running:
    session: weakref.ref[ServerSession]
    stop: Callable[[], Awaitable[None]]  # cancels the operation, and the wait for it


class ToolTasks:
    """The tasks of one server. `call` runs a tool as a plain tools/call would; `finished` waits for an
    operation as install_model with wait=true does (ToolCatalog.finished)."""

    def __init__(self, app: App, server: FastMCP[Any], call: Call, finished: Finished) -> None:
        self._app = app
        self._server = server
        self._call = call
        self._finished = finished
        self.store = OperationTaskStore()
        self._running: dict[str, _Running] = {}

    def enable(self, lowlevel: Server[Any, Any]) -> None:
        """Turn on the SDK's task support on the low-level server, with our store and tasks/cancel."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            experimental = lowlevel.experimental
        experimental.cancel_task()(self._cancel)  # first: enable_tasks keeps a handler that is there
        experimental.enable_tasks(store=self.store)

    async def start(self, ctx: Context[Any, Any, Any], name: str, arguments: dict[str, Any]) -> CreateTaskResult:
        """tools/call with task metadata: a task handle for TASK_TOOLS (the work goes on in the background)."""
        request = ctx.request_context
        request.experimental.validate_task_mode("optional" if name in TASK_TOOLS else None)
        token = request.meta.progressToken if request.meta else None
        if name == "install_model":
            work, stop = await self._install(arguments, ctx.session, token)
        else:
            work, stop = self._activate(arguments, ctx.session)
        created: CreateTaskResult = await request.experimental.run_task(work)
        self._forget_gone_sessions()
        self._running[created.task.taskId] = _Running(weakref.ref(ctx.session), stop)
        return created

    # ---- the work of each tool ---------------------------------------------------------------------

    async def _tool(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        """A tool's result; a failure as the error result the low-level server would answer."""
        try:
            return await self._call(name, arguments)
        except Exception as exc:
            return _error(str(exc))

    async def _install(self, arguments: dict[str, Any], session: ServerSession, token: ProgressToken | None) -> tuple[
            Callable[[ServerTaskContext], Awaitable[CallToolResult]], Callable[[], Awaitable[None]]]:
        first = await self._tool("install_model", {**arguments, "wait": False})  # checks and confirms, here
        op_id = None if first.isError else str((first.structuredContent or {}).get("operation_id"))

        async def work(task: ServerTaskContext) -> CallToolResult:
            if op_id is None:
                return await self._end(task, first, "failed")
            try:
                await _while_connected(session, lambda: self._finished(op_id, self._relay(task, session, token)))
            except _ClientLeft:
                return await self._end(task, _error("the client left; the install goes on (operation "
                                                    f"{op_id})"), "failed")
            except VenomError as exc:
                cancelled = self._app.operations.get(op_id).status == "cancelled"
                return await self._end(task, _error(str(exc)), "cancelled" if cancelled else "failed")
            return await self._end(task, await self._tool("operation_status", {"operation_id": op_id}), "completed")

        async def stop() -> None:
            if op_id is not None:
                await self._app.operations.cancel(op_id)

        return work, stop

    def _activate(self, arguments: dict[str, Any], session: ServerSession) -> tuple[
            Callable[[ServerTaskContext], Awaitable[CallToolResult]], Callable[[], Awaitable[None]]]:
        scope = anyio.CancelScope()

        async def work(task: ServerTaskContext) -> CallToolResult:
            await self.store.update_task(task.task_id, status_message=f"activating {arguments.get('name')}")
            result = _error("activation cancelled by the client (tasks/cancel)")
            with scope:
                try:
                    result = await _while_connected(session, lambda: self._tool("activate_model", arguments))
                except _ClientLeft:
                    result = _error("the client left; the activation goes on")
            status: TaskStatus = "cancelled" if scope.cancelled_caught else "failed" if result.isError else "completed"
            return await self._end(task, result, status)

        async def stop() -> None:
            # The activation runs as an operation of its own, which a cancelled wait would leave running.
            with contextlib.suppress(VenomError):
                entry = await self._app.registry.resolve(str(arguments.get("name")))
                if (op := self._app.operations.running(entry.name, entry.provider, "activate")) is not None:
                    await self._app.operations.cancel(op.operation_id)
            scope.cancel()

        return work, stop

    def _relay(self, task: ServerTaskContext, session: ServerSession,
               token: ProgressToken | None) -> Callable[[Operation], Awaitable[None]]:
        async def relay(op: Operation) -> None:
            await self.store.update_task(task.task_id, status_message=f"{op.progress:g}% {op.message or op.status}")
            if token is not None:
                try:
                    await session.send_progress_notification(token, op.progress, 100, op.message)
                except CLOSED as exc:
                    raise _ClientLeft from exc

        return relay

    async def _end(self, task: ServerTaskContext, result: CallToolResult, status: TaskStatus) -> CallToolResult:
        """End the task here (the SDK's runner then adds nothing); the first end wins (OperationTaskStore)."""
        said = (result.structuredContent or {}).get("message") if not result.isError else None
        text = str(said or " ".join(b.text for b in result.content if isinstance(b, TextContent)))[:500]
        await self.store.store_result(task.task_id, result)
        await self.store.update_task(task.task_id, status=status, status_message=text)
        with contextlib.suppress(*CLOSED):  # a client that left is not told
            await task.update_status(text)  # refreshes the runner's copy (ended) and notifies the client
        return result

    # ---- tasks/cancel ------------------------------------------------------------------------------

    async def _cancel(self, request: CancelTaskRequest) -> CancelTaskResult:
        task_id = request.params.taskId
        running = self._running.get(task_id)
        task = await self.store.get_task(task_id)
        if task is None or running is None or running.session() is not self._server.get_context().session:
            raise McpError(ErrorData(code=INVALID_PARAMS, message=f"Task not found: {task_id}"))
        if is_terminal(task.status):
            raise McpError(ErrorData(code=INVALID_PARAMS, message=f"Cannot cancel task in terminal state "
                                                                  f"'{task.status}'"))
        message = "cancelled by the client (tasks/cancel)"
        await self.store.store_result(task_id, _error(message))
        ended = await self.store.update_task(task_id, status="cancelled", status_message=message)
        await running.stop()
        return CancelTaskResult(**ended.model_dump())

    def _forget_gone_sessions(self) -> None:
        """Forget the tasks of sessions that ended (their tasks can be asked about by nobody)."""
        for task_id in [i for i, r in self._running.items() if r.session() is None]:
            del self._running[task_id]


async def _while_connected(session: ServerSession, wait: Callable[[], Awaitable[Any]]) -> Any:
    """What `wait` returns or raises, unless the session's client leaves first (its input ends): _ClientLeft."""
    outcome: list[tuple[bool, Any]] = []
    async with anyio.create_task_group() as tasks:
        async def run() -> None:
            try:
                outcome.append((True, await wait()))
            except Exception as exc:
                outcome.append((False, exc))
            tasks.cancel_scope.cancel()

        tasks.start_soon(run)
        # The session offers no event for its end; its input stream's writer closing is the public sign of it.
        while session.incoming_messages.statistics().open_send_streams:  # noqa: ASYNC110
            await anyio.sleep(CONNECTED_POLL_S)
        tasks.cancel_scope.cancel()
    if not outcome:
        raise _ClientLeft
    done, value = outcome[0]
    if not done:
        raise value
    return value


def _error(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], isError=True)


__all__ = ["TASK_TOOLS", "ToolTasks"]
