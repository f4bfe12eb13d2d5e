"""Run an eval: K trials per task at bounded concurrency, spread over one or more servers,
appending each finished trial to `results.jsonl`; then write the summary and the report.

Trials run in this process, or with `workers > 1` in worker processes sharing one queue
(`agentloop.eval.workers`). Ctrl-C (cancelling `run_eval`) stops the trials in flight,
keeps every finished one and still writes the summary and report; `resume=True` runs only
the trials not yet in `results.jsonl`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import shutil
import tempfile
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentloop.backend import Backend, OpenAIBackend
from agentloop.config import AgentConfig
from agentloop.errors import ConfigError
from agentloop.eval.report import load_transcripts, render_report
from agentloop.eval.results import (
    REPORT_FILE,
    RESULTS_FILE,
    SUMMARY_FILE,
    ResultsWriter,
    RunInfo,
    TrialResult,
    read_results,
    read_run_info,
    write_run_info,
)
from agentloop.eval.summary import Summary, render_markdown, summarize
from agentloop.eval.tasks import Task
from agentloop.eval.toolsets import BuiltinTools, ToolProvider
from agentloop.eval.trial import (
    Server,
    TrialCallback,
    TrialObserver,
    TrialRunner,
    TrialSettings,
    observed_run,
    open_servers,
)
from agentloop.eval.worker import WorkerSpec
from agentloop.eval.workers import WorkerPool, pack_spec, split
from agentloop.logs import get_logger

log = get_logger(__name__)

BackendFactory = Callable[[AgentConfig], Backend]


@dataclass(frozen=True, slots=True)
class EvalOptions:
    """How an eval runs.

    Attributes:
        out_dir: Where results, transcripts, summary and report go.
        trials: Trials per task (the K of pass^K).
        concurrency: Trials running at once.
        timeout: Seconds one trial may take (a task's own `timeout` wins).
        profile: Sampling profile for tasks that name none.
        max_turns: Turn limit for tasks that set none.
        system: System prompt for tasks that set none: None gives each run the profile's
            default (as the chat does), ``""`` no system prompt at all.
        resume: Continue the run in `out_dir`, skipping trials already there.
        tasks_file: Shown in the summary and report.
        workers: Processes the trials run in; above 1, worker processes share the queue
            and `concurrency` is spread over them (tools and the backend factory must be
            importable by name, see `agentloop.eval.worker.pack`).
    """

    out_dir: Path
    trials: int = 1
    concurrency: int = 4
    timeout: float = 300.0
    profile: str | None = None
    max_turns: int | None = None
    system: str | None = None
    resume: bool = False
    tasks_file: str = "tasks.jsonl"
    workers: int = 1

    def __post_init__(self) -> None:
        if self.trials < 1 or self.concurrency < 1 or self.workers < 1:
            raise ConfigError("trials, concurrency and workers must be at least 1")
        if self.timeout <= 0:
            raise ConfigError("the timeout must be positive")


@dataclass(slots=True)
class EvalOutcome:
    """What `run_eval` returns."""

    summary: Summary
    trials: list[TrialResult]
    info: RunInfo
    interrupted: bool
    ran: int = 0
    skipped: int = 0


def _check_out_dir(options: EvalOptions) -> list[TrialResult]:
    out = options.out_dir
    results = out / RESULTS_FILE
    if options.resume:
        info = read_run_info(out)
        if info is not None and info.trials != options.trials:
            raise ConfigError(
                f"{out} was run with {info.trials} trial(s) per task; resume with --trials "
                f"{info.trials}"
            )
        return read_results(results)
    if results.exists() and results.stat().st_size > 0:
        raise ConfigError(f"{out} already holds results: pass --resume, or choose another --out")
    return []


def write_outputs(out_dir: Path, info: RunInfo) -> tuple[Summary, list[TrialResult]]:
    """(Re)write `summary.md` and `report.html` from `results.jsonl` and `run.json`."""
    trials = read_results(out_dir / RESULTS_FILE)
    summary = summarize(trials, info.trials)
    (out_dir / SUMMARY_FILE).write_text(render_markdown(summary, trials, info), "utf-8")
    html = render_report(summary, trials, info, load_transcripts(out_dir, trials))
    (out_dir / REPORT_FILE).write_text(html, "utf-8")
    return summary, trials


async def run_eval(
    tasks: Sequence[Task],
    configs: Sequence[AgentConfig],
    options: EvalOptions,
    *,
    provider: ToolProvider | None = None,
    backend_factory: BackendFactory | None = None,
    on_trial: TrialCallback | None = None,
    on_start: Callable[[int, int], None] | None = None,
    observer: TrialObserver | None = None,
    observer_factory: Callable[[], TrialObserver] | None = None,
) -> EvalOutcome:
    """Run every trial not yet done and write all outputs.

    Args:
        tasks: Validated tasks.
        configs: One config per server; trials go round-robin over them.
        options: How to run.
        provider: Builds each trial's tools (default: built-in tools over a sandbox).
        backend_factory: Makes a backend per config (default `OpenAIBackend`).
        on_trial: Called after each finished trial (e.g. a progress bar).
        on_start: Called with (trials to run, trials already done) before the first trial.
        observer: Wraps each trial (tracing); trials run inside its context.
        observer_factory: With `workers > 1`: makes each worker process's observer (it
            must be importable by name, e.g. a `functools.partial` of a module-level
            function); the worker calls its `close()`, if any, before it exits.

    Raises:
        ConfigError: Bad options, an output directory that already holds another run, or
            tools that do not load (`TaskFileError`).
        BackendError: A server could not be reached before anything ran.
    """
    if not configs:
        raise ConfigError("no server to run against")
    if options.workers > 1 and observer is not None and observer_factory is None:
        raise ConfigError("with workers, an observer is made in each: pass observer_factory")
    provider = provider or BuiltinTools()
    done = _check_out_dir(options)
    await provider.prepare(tasks, options.tasks_file)
    finished = {trial.key for trial in done}
    jobs = [
        (task, index)
        for index in range(options.trials)
        for task in tasks
        if (task.id, index) not in finished
    ]
    factory = backend_factory or OpenAIBackend
    blob = None
    if options.workers > 1 and len(jobs) > 1:  # checked before any server is asked
        spec = WorkerSpec(
            list(tasks), list(configs), provider, factory, **_trial_limits(options),
            observer_factory=observer_factory,
        )  # fmt: skip
        blob = pack_spec(spec)
    async with AsyncExitStack() as stack:
        servers = await open_servers(configs, factory, stack)
        info = _run_info(tasks, configs, servers, options)
        write_run_info(options.out_dir, info)
        if on_start is not None:
            on_start(len(jobs), len(done))
        if blob is not None:
            ran, interrupted = await _run_in_workers(jobs, tasks, blob, options, on_trial)
        else:
            ran, interrupted = await _run_jobs(jobs, servers, options, provider, on_trial, observer)
    info = info.model_copy(
        update={"finished_at": _now(), "interrupted": interrupted or ran < len(jobs)}
    )
    write_run_info(options.out_dir, info)
    summary, trials = write_outputs(options.out_dir, info)
    return EvalOutcome(summary, trials, info, info.interrupted, ran, len(done))


def _trial_limits(options: EvalOptions) -> dict[str, Any]:
    return {
        "timeout": options.timeout,
        "profile": options.profile,
        "max_turns": options.max_turns,
        "system": options.system,
        "out_dir": options.out_dir,
    }


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _run_info(
    tasks: Sequence[Task], configs: Sequence[AgentConfig], servers: list[Server], opts: EvalOptions
) -> RunInfo:
    previous = read_run_info(opts.out_dir) if opts.resume else None
    return RunInfo(
        tasks_file=opts.tasks_file,
        trials=opts.trials,
        model=", ".join(sorted({s.model for s in servers})),
        base_urls=[c.base_url or "" for c in configs],
        profile=opts.profile,
        system=opts.system,
        concurrency=opts.concurrency,
        task_count=len(tasks),
        started_at=previous.started_at if previous else _now(),
    )


async def _run_in_workers(
    jobs: list[tuple[Task, int]],
    tasks: Sequence[Task],
    blob: bytes,
    options: EvalOptions,
    on_trial: TrialCallback | None,
) -> tuple[int, bool]:
    """Run the jobs in worker processes; returns (trials recorded, interrupted)."""
    writer = ResultsWriter(options.out_dir / RESULTS_FILE)
    slots = split(min(options.concurrency, len(jobs)), options.workers)
    pool = WorkerPool(jobs, tasks, blob, slots, writer, on_trial)
    log.info("eval.workers", workers=len(slots), slots=slots)
    interrupted = False
    try:
        await pool.run()
    except asyncio.CancelledError:
        interrupted = True
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()  # handled: the outputs are still written
        await pool.stop()
        log.info("eval.interrupted", finished=pool.ran, remaining=len(jobs) - pool.ran)
    finally:
        await pool.close()
        writer.close()
    return pool.ran, interrupted


async def _run_jobs(
    jobs: list[tuple[Task, int]],
    servers: list[Server],
    options: EvalOptions,
    provider: ToolProvider,
    on_trial: TrialCallback | None,
    observer: TrialObserver | None = None,
) -> tuple[int, bool]:
    """Run the jobs with `options.concurrency` workers; returns (trials run, interrupted)."""
    writer = ResultsWriter(options.out_dir / RESULTS_FILE)
    work_dir = Path(tempfile.mkdtemp(prefix="agentloop-eval-"))
    work_dir.chmod(0o711)  # a sandbox that drops root must still reach its workspace
    settings = TrialSettings(
        timeout=options.timeout,
        profile=options.profile,
        max_turns=options.max_turns,
        system=options.system,
        work_dir=work_dir,
        out_dir=options.out_dir,
        events=observer.run_events if observer is not None else None,
    )
    runner = TrialRunner(settings, provider)
    queue = iter(enumerate(jobs))  # shared by the workers: each job is taken once
    count = itertools.count(1)
    ran = 0

    async def worker() -> None:
        nonlocal ran
        for number, (task, trial) in queue:
            server = servers[number % len(servers)]
            result = await observed_run(runner, observer, task, trial, server)
            writer.write(result)
            ran = next(count)
            if on_trial is not None:
                on_trial(result)

    workers = [asyncio.create_task(worker()) for _ in range(min(options.concurrency, len(jobs)))]
    interrupted = False
    try:
        await asyncio.gather(*workers)
    except asyncio.CancelledError:
        interrupted = True
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()  # handled: the outputs are still written
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        log.info("eval.interrupted", finished=ran, remaining=len(jobs) - ran)
    finally:
        writer.close()
        shutil.rmtree(work_dir, ignore_errors=True)
    return ran, interrupted
