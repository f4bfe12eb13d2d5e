"""One worker process of `agentloop eval --workers N`.

The parent (`agentloop.eval.workers`) keeps the one queue of trials and sends each worker
a trial whenever one of its slots (its share of `--concurrency`) is free; the worker runs
it with the same `TrialRunner` as an in-process eval (transcripts are written by the
worker) and sends the `TrialResult` back. Only the parent writes `results.jsonl`.

Messages, parent to worker: `("job", number, task_index, trial)`; `("stop",)` (nothing
more: exit); `("cancel",)` (stop the trials in flight, unrecorded, and exit).
Worker to parent: `("ready",)` (its servers answered: trials it gets now start);
`("result", number, TrialResult)`; `("crashed", number, text)` (the trial raised where it
should not); `("failed", text)` (the worker could not start).

The worker ignores SIGINT: Ctrl-C in a terminal reaches the whole process group, and the
parent decides what is kept. It stops by itself when the parent goes away.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import pickle
import signal
import sys
import tempfile
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from agentloop.backend import Backend
from agentloop.config import AgentConfig
from agentloop.errors import ConfigError
from agentloop.eval.tasks import Task
from agentloop.eval.toolsets import ToolProvider
from agentloop.eval.trial import (
    Server,
    TrialObserver,
    TrialRunner,
    TrialSettings,
    observed_run,
    open_servers,
)
from agentloop.logs import configure
from tools import Tool

Message = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What a worker needs to run trials, sent pickled when it starts.

    Attributes:
        tasks: The run's tasks (jobs refer to them by index).
        configs: One config per server, in the parent's order (trial `number` goes to
            server `number % len(configs)`, as in one process).
        provider: Builds each trial's tools (already `prepare`d by the parent).
        backend_factory: Makes a backend per config.
        timeout: Seconds per trial unless the task says otherwise.
        profile: Sampling profile unless the task names one.
        max_turns: Turn limit unless the task sets one.
        system: System prompt unless the task sets one (None: the profile's; "": none).
        out_dir: The run's output directory (transcripts go under it).
        log_level: The parent's agentloop log level, when its CLI configured logging.
        observer_factory: Makes the worker's trial observer (tracing), if any.
    """

    tasks: list[Task]
    configs: list[AgentConfig]
    provider: ToolProvider
    backend_factory: Callable[[AgentConfig], Backend]
    timeout: float
    profile: str | None
    max_turns: int | None
    out_dir: Path
    log_level: int | None = None
    observer_factory: Callable[[], TrialObserver] | None = None
    system: str | None = None


def _tool_at(module: str, name: str) -> Tool:
    found = getattr(importlib.import_module(module), name)
    if not isinstance(found, Tool):
        raise TypeError(f"{module}.{name} is not a tool")
    return found


class _SpecPickler(pickle.Pickler):
    """Pickles a module-level `@tool` by its name: its function and argument model are
    made at import time and cannot be pickled by value."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Tool):
            function = obj.function
            module = getattr(function, "__module__", None)
            name = getattr(function, "__qualname__", "")
            found = getattr(sys.modules.get(module or ""), name, None) if module else None
            if found is obj:
                return _tool_at, (module, name)
        return NotImplemented


def pack(spec: WorkerSpec) -> bytes:
    """The spec as bytes for a worker process.

    Raises:
        ConfigError: Something in it cannot be sent to another process (a tool defined
            inside a function, a lambda as backend factory).
    """
    buffer = io.BytesIO()
    try:
        _SpecPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(spec)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise ConfigError(
            f"--workers needs tools and settings that another process can import: {exc}"
        ) from None
    return buffer.getvalue()


def main(blob: bytes, conn: Connection) -> None:
    """The worker process's entry point."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        spec: WorkerSpec = pickle.loads(blob)
        if spec.log_level is not None:
            configure(spec.log_level)
        asyncio.run(_serve(spec, conn))
    except (BrokenPipeError, EOFError, ConnectionResetError):
        pass  # the parent is gone
    finally:
        conn.close()


async def _serve(spec: WorkerSpec, conn: Connection) -> None:
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def readable() -> None:
        try:
            while conn.poll():
                inbox.put_nowait(conn.recv())
        except (EOFError, OSError):
            loop.remove_reader(conn.fileno())
            inbox.put_nowait(("cancel",))  # the parent is gone: stop

    loop.add_reader(conn.fileno(), readable)
    work_dir = Path(tempfile.mkdtemp(prefix="agentloop-eval-"))
    work_dir.chmod(0o711)  # a sandbox that drops root must still reach its workspace
    try:
        async with AsyncExitStack() as stack:
            try:
                servers = await open_servers(spec.configs, spec.backend_factory, stack)
            except Exception as exc:
                conn.send(("failed", f"{type(exc).__name__}: {exc}"))
                return
            conn.send(("ready",))
            observer = spec.observer_factory() if spec.observer_factory else None
            if observer is not None:
                stack.callback(_close, observer)  # exports its pending spans
            events = observer.run_events if observer is not None else None
            settings = TrialSettings(
                timeout=spec.timeout,
                profile=spec.profile,
                max_turns=spec.max_turns,
                work_dir=work_dir,
                out_dir=spec.out_dir,
                events=events,
                system=spec.system,
            )
            runner = TrialRunner(settings, spec.provider)
            await _take_jobs(runner, observer, spec, servers, inbox, conn)
    finally:
        loop.remove_reader(conn.fileno())
        await asyncio.to_thread(_remove_tree, work_dir)


async def _take_jobs(
    runner: TrialRunner,
    observer: TrialObserver | None,
    spec: WorkerSpec,
    servers: list[Server],
    inbox: asyncio.Queue[Message],
    conn: Connection,
) -> None:
    running: set[asyncio.Task[None]] = set()

    async def one(number: int, task: Task, trial: int) -> None:
        try:
            server = servers[number % len(servers)]
            result = await observed_run(runner, observer, task, trial, server)
        except Exception as exc:  # a bug, not a model failure: the parent records it
            conn.send(("crashed", number, f"{type(exc).__name__}: {exc}"))
            return
        conn.send(("result", number, result))

    while True:
        message = await inbox.get()
        if message[0] == "job":
            _, number, index, trial = message
            job = asyncio.create_task(one(number, spec.tasks[index], trial))
            running.add(job)
            job.add_done_callback(running.discard)
            continue
        if message[0] == "cancel":
            for job in running:
                job.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        return


def _close(observer: TrialObserver) -> None:
    close = getattr(observer, "close", None)
    if callable(close):
        close()


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
