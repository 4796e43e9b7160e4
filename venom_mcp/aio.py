"""Running blocking library calls (huggingface_hub, psutil) off the event loop, with a deadline; single-flight runs."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from .errors import UpstreamTimeout

T = TypeVar("T")


async def run_blocking(fn: Callable[[], T], *, deadline: float, what: str) -> T:
    """Run `fn` in a daemon thread and wait at most `deadline` seconds for it.

    A daemon thread rather than the loop's executor: huggingface_hub retries an unreachable Hub for
    about 25 s, and a call we stopped waiting for must not hold up the loop's shutdown or the exit.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(setter: Callable[[], None]) -> None:
        if not future.done():
            setter()

    def work() -> None:
        outcome: Callable[[], None]
        try:
            outcome = functools.partial(future.set_result, fn())
        except BaseException as exc:
            outcome = functools.partial(future.set_exception, exc)
        with contextlib.suppress(RuntimeError):  # the loop may be closed by the time a late answer comes
            loop.call_soon_threadsafe(deliver, outcome)

    threading.Thread(target=work, name=f"venom:{what}", daemon=True).start()
    try:
        return await asyncio.wait_for(future, deadline)  # on timeout the future is cancelled; a late answer is dropped
    except TimeoutError as exc:
        raise UpstreamTimeout(
            f"{what} did not answer within {deadline:g} s (raise VENOM_HTTP_TIMEOUT_SECONDS if it is just slow)"
        ) from exc


class SingleFlight:
    """Concurrent calls with one key share one run: the first starts it, the others await the same outcome (the
    result, or the error). The run goes on if the caller that started it goes away; a call after it ended starts
    a new one."""

    def __init__(self) -> None:
        self._flights: dict[Hashable, asyncio.Task[Any]] = {}

    async def run(self, key: Hashable, fn: Callable[[], Awaitable[T]]) -> T:
        task: asyncio.Task[T] | None = self._flights.get(key)
        if task is None:
            task = asyncio.create_task(fn())  # type: ignore[arg-type]
            self._flights[key] = task
            task.add_done_callback(functools.partial(self._landed, key))
        return await asyncio.shield(task)

    def _landed(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        if self._flights.get(key) is task:
            del self._flights[key]
        if not task.cancelled():
            task.exception()  # retrieved, even when every caller went away

    def __len__(self) -> int:
        return len(self._flights)
