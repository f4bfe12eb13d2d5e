"""`agentloop eval --workers N`: the trials of one run over N worker processes, for when
one core of bookkeeping cannot keep up with the servers.

The parent keeps the one queue of trials. Each worker (`agentloop.eval.worker`, started
with `spawn`) has its share of `--concurrency` as slots; the parent sends it a trial
whenever a slot is free, so a fast worker takes more. Results come back to the parent,
which alone writes `results.jsonl` and calls `on_trial` (progress), as in one process.

- Ctrl-C (cancelling): every worker is told to stop; the trials they finish before they
  exit are still written, the ones cut off are not (`--resume` runs them).
- A worker that dies (killed, crashed) is logged as `eval.worker_died`, and each trial it
  was running is recorded as a failed trial with `stop_reason` "error" naming the worker:
  a trial that kills its worker would kill the next one too, so it is not re-queued. The
  other workers go on with the queue; if none is left, the rest stays for `--resume`.
- A worker that fails before it is ready (its servers do not answer, it cannot import the
  tools) is logged as `eval.worker_failed`; the trials sent to it never started and go
  back to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from agentloop.eval.results import ResultsWriter, TrialResult
from agentloop.eval.tasks import Task
from agentloop.eval.worker import Message, WorkerSpec, main, pack
from agentloop.logs import get_logger

log = get_logger(__name__)

STOP_GRACE = 10.0
"""Seconds the workers get to stop after Ctrl-C before they are terminated."""


def pack_spec(spec: WorkerSpec) -> bytes:
    """`pack` with the parent's log level, when its CLI configured logging (workers log
    what the parent would).

    Raises:
        ConfigError: Something in the spec cannot be sent to a worker process.
    """
    logger = logging.getLogger("agentloop")
    return pack(replace(spec, log_level=logger.level if logger.handlers else None))


def split(concurrency: int, workers: int) -> list[int]:
    """Slots per worker: `concurrency` spread as evenly as it goes, no worker without one."""
    count = max(1, min(workers, concurrency))
    return [concurrency // count + (1 if i < concurrency % count else 0) for i in range(count)]


@dataclass(eq=False, slots=True)
class _Worker:
    index: int
    process: BaseProcess
    conn: Connection
    slots: int
    in_flight: dict[int, tuple[Task, int]] = field(default_factory=dict)
    alive: bool = True
    ready: bool = False


class WorkerPool:
    """Runs jobs over worker processes; see the module docstring.

    Args:
        jobs: (task, trial index) pairs; the job's position is its number (which server
            it goes to).
        tasks: The tasks of the spec, in its order (jobs name them by index).
        blob: The packed `WorkerSpec` every worker gets (`pack_spec`).
        slots: Concurrency of each worker (`split`).
        writer: Where results go.
        on_trial: Called after each recorded trial.
    """

    def __init__(
        self,
        jobs: Sequence[tuple[Task, int]],
        tasks: Sequence[Task],
        blob: bytes,
        slots: Sequence[int],
        writer: ResultsWriter,
        on_trial: Callable[[TrialResult], None] | None,
    ) -> None:
        self.queue = deque(enumerate(jobs))
        self.index = {task.id: i for i, task in enumerate(tasks)}
        self.blob = blob
        self.slots = list(slots)
        self.writer = writer
        self.on_trial = on_trial
        self.ran = 0
        self.stopping = False
        self.workers: list[_Worker] = []
        self._done: asyncio.Future[None] | None = None

    async def run(self) -> int:
        """Start the workers and run every job; returns how many trials were recorded."""
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        context = multiprocessing.get_context("spawn")
        for index, slots in enumerate(self.slots):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=main, args=(self.blob, theirs), name=f"agentloop-eval-{index + 1}"
            )
            _start_ignoring_sigint(process)
            theirs.close()
            worker = _Worker(index + 1, process, ours, slots)
            self.workers.append(worker)
            loop.add_reader(ours.fileno(), self._readable, worker)
            loop.add_reader(process.sentinel, self._exited, worker)
            self._fill(worker)
        await self._done
        return self.ran

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Tell every worker to stop; record what they finish meanwhile; end stragglers."""
        self.stopping = True
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        for worker in self.workers:
            self._send(worker, ("cancel",))
        self._check_done()
        try:
            await asyncio.wait_for(self._done, grace)
        except TimeoutError:
            log.warning("eval.workers_terminated", grace=grace)

    async def close(self, grace: float = STOP_GRACE) -> None:
        """Stop watching the workers and make sure every process is gone (a worker told to
        stop gets `grace` seconds to close its servers and remove its workspaces)."""
        loop = asyncio.get_running_loop()
        for worker in self.workers:
            loop.remove_reader(worker.conn.fileno())
            loop.remove_reader(worker.process.sentinel)
            self._send(worker, ("cancel",))  # no-op for one that already stopped
        for worker in self.workers:
            await asyncio.to_thread(worker.process.join, grace)
            if worker.process.is_alive():
                worker.process.terminate()
                await asyncio.to_thread(worker.process.join, grace)
            if worker.process.is_alive():  # pragma: no cover - ignores SIGTERM
                worker.process.kill()
                await asyncio.to_thread(worker.process.join)
            worker.conn.close()

    def _fill(self, worker: _Worker) -> None:
        while worker.alive and not self.stopping and len(worker.in_flight) < worker.slots:
            if not self.queue:
                break
            number, (task, trial) = self.queue.popleft()
            worker.in_flight[number] = (task, trial)
            self._send(worker, ("job", number, self.index[task.id], trial))
        self._check_done()

    def _send(self, worker: _Worker, message: Message) -> None:
        if worker.alive:
            with contextlib.suppress(OSError):  # it died: its sentinel says so
                worker.conn.send(message)

    def _readable(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                self._handle(worker, worker.conn.recv())
        except (EOFError, OSError):
            asyncio.get_running_loop().remove_reader(worker.conn.fileno())

    def _handle(self, worker: _Worker, message: Message) -> None:
        kind = message[0]
        if kind == "ready":
            worker.ready = True
        elif kind == "result":
            worker.in_flight.pop(message[1], None)
            self._record(message[2])
        elif kind == "crashed":
            task, trial = worker.in_flight.pop(message[1])
            self._record(_error(task, trial, f"the trial raised {message[2]}"))
        elif kind == "failed":
            log.error("eval.worker_failed", worker=worker.index, error=message[1])
            self._requeue(worker)
        self._fill(worker)

    def _requeue(self, worker: _Worker) -> None:
        """Give back the trials of a worker that never started them."""
        self.queue.extendleft(reversed(list(worker.in_flight.items())))
        worker.in_flight.clear()
        worker.alive = False

    def _record(self, result: TrialResult) -> None:
        self.writer.write(result)
        self.ran += 1
        if self.on_trial is not None:
            self.on_trial(result)

    def _exited(self, worker: _Worker) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(worker.process.sentinel)
        self._readable(worker)  # what it sent before it went
        loop.remove_reader(worker.conn.fileno())
        worker.process.join(1)
        code = worker.process.exitcode
        if worker.alive and not worker.ready and not self.stopping:
            log.error("eval.worker_failed", worker=worker.index, exit_code=code)
            self._requeue(worker)
        if worker.in_flight and not self.stopping:
            log.error(
                "eval.worker_died",
                worker=worker.index,
                exit_code=code,
                trials=len(worker.in_flight),
            )
            reason = f"worker process {worker.index} died (exit code {code}) during this trial"
            for task, trial in worker.in_flight.values():
                self._record(_error(task, trial, reason))
        worker.in_flight.clear()
        worker.alive = False
        for other in self.workers:
            if other.alive:
                self._fill(other)
        self._check_done()

    def _check_done(self) -> None:
        # Idle workers wait rather than stop: a worker that fails before it is ready gives
        # its trials back, and the others must still be there to take them.
        live = [w for w in self.workers if w.alive]
        if self.stopping:
            finished = not live
        else:
            finished = not any(w.in_flight for w in live) and (not self.queue or not live)
        if finished and self._done is not None and not self._done.done():
            for worker in live:
                self._send(worker, ("stop",))
            self._done.set_result(None)


def _start_ignoring_sigint(process: BaseProcess) -> None:
    # A spawned Python keeps an ignored SIGINT, so the worker is immune from its first
    # instruction (before `worker.main` could set it); the parent's handler is put back.
    if threading.current_thread() is not threading.main_thread():
        process.start()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        process.start()
    finally:
        signal.signal(signal.SIGINT, previous)


def _error(task: Task, trial: int, reason: str) -> TrialResult:
    return TrialResult(
        task_id=task.id,
        category=task.category,
        trial=trial,
        passed=False,
        failure=f"run: {reason}",
        stop_reason="error",
        error=reason,
    )
