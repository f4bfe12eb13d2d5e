"""`RunStream`: a run's typed events as an async iterator, ending with its result."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType

from agentloop.events import Event, EventHandler
from agentloop.result import RunResult

Starter = Callable[[EventHandler], Awaitable[RunResult]]


class RunStream:
    """Iterate a run's events as they happen; `result` holds the `RunResult` afterwards.

    The run starts on the first iteration. Leaving the loop early cancels the run
    cleanly: it ends as "cancelled" with the conversation so far, which `result` then
    holds. Use ``async with agent.stream(...) as run:`` (or call `aclose()`) for that to
    happen at once; a plain ``break`` leaves it to the iterator's clean-up.
    """

    def __init__(self, start: Starter) -> None:
        self._start = start
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._task: asyncio.Task[RunResult] | None = None
        self._result: RunResult | None = None

    @property
    def result(self) -> RunResult:
        """The finished run (only after the iteration has ended)."""
        if self._result is None:
            raise RuntimeError("the run has not finished: iterate the stream to its end first")
        return self._result

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        if self._task is not None:
            raise RuntimeError("a RunStream can be iterated once")
        self._task = asyncio.ensure_future(self._start(self._queue.put_nowait))
        self._task.add_done_callback(lambda _: self._queue.put_nowait(None))
        try:
            while (event := await self._queue.get()) is not None:
                yield event
        finally:
            await self._settle()

    async def _settle(self) -> None:
        if self._task is None:
            return
        if not self._task.done():
            self._task.cancel()
        try:
            self._result = await self._task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # we are being cancelled ourselves
            # Cancelled before the run started: nothing happened, nothing to report.

    async def aclose(self) -> None:
        """Cancel the run if it is still going and wait for its result."""
        await self._settle()

    async def __aenter__(self) -> RunStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
