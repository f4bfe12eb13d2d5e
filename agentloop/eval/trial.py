"""One trial of one task: a fresh workspace, the run, the checks, the transcript.

Per-trial bookkeeping is kept to what the outputs need, because at a fast server it is
what the eval pays on top of `Agent.run` (`bench/eval_throughput.py --cpu`): the
workspace is made only when something can use it, a task's transcript folder once per run,
the messages file is encoded by the C JSON encoder, and the run's tool registry is closed
without a thread hop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agentloop.backend import Backend
from agentloop.config import AgentConfig
from agentloop.eval.checks import CheckResult, Evidence, date_from_calls, run_checks
from agentloop.eval.results import TRANSCRIPTS_DIR, CallSummary, CheckOutcome, TrialResult
from agentloop.eval.tasks import Task
from agentloop.eval.toolsets import ToolProvider, ToolSet, needs_workspace
from agentloop.events import EventHandler
from agentloop.logs import get_logger
from agentloop.loop import Agent
from agentloop.result import RunResult
from tools import ApprovalDecision, ApprovalRequest, ToolRegistry

log = get_logger(__name__)

MAX_ANSWER_CHARS = 2000


TrialCallback = Callable[[TrialResult], None]


class TrialObserver(Protocol):
    """Wraps each trial (e.g. in a trace span); the yielded callback gets its result."""

    def trial(self, task: Task, trial: int) -> AbstractContextManager[TrialCallback]:
        """A context around one trial."""

    def run_events(self, model: str) -> EventHandler | None:
        """An `on_event` consumer for the run inside a trial (its spans nest in the trial's)."""


@dataclass(frozen=True, slots=True)
class TrialSettings:
    """How trials run.

    Attributes:
        timeout: Seconds one trial may take unless the task says otherwise.
        profile: Sampling profile unless the task names one.
        max_turns: Turn limit unless the task sets one.
        system: System prompt unless the task sets one (None: the profile's; "": none).
        work_dir: Where trial workspaces are made (and removed).
        out_dir: The run's output directory (transcripts go under it).
        events: Gives each run its `on_event` consumer, by model id (tracing), if any.
    """

    timeout: float
    profile: str | None
    max_turns: int | None
    work_dir: Path
    out_dir: Path
    events: Callable[[str], EventHandler | None] | None = None
    system: str | None = None


@dataclass(frozen=True, slots=True)
class Server:
    """One backend the trials are spread over."""

    config: AgentConfig
    backend: Backend
    model: str


async def open_servers(
    configs: Sequence[AgentConfig],
    factory: Callable[[AgentConfig], Backend],
    stack: AsyncExitStack,
) -> list[Server]:
    """A backend per config, closed with `stack`; each asked for its model id (which also
    fails early when a server is unreachable)."""
    servers = []
    for config in configs:
        backend = factory(config)
        stack.push_async_callback(backend.aclose)
        servers.append(Server(config, backend, (await backend.info()).model))
    return servers


async def _approve_all(request: ApprovalRequest) -> ApprovalDecision:
    # Nobody is there to ask: the sandbox and the command policy are the guard in an eval.
    return "yes"


def transcript_paths(task_id: str, trial: int) -> tuple[str, str]:
    """(messages file, raw traffic file), relative to the output directory."""
    base = f"{TRANSCRIPTS_DIR}/{task_id}/trial-{trial}"
    return f"{base}.json", f"{base}.wire.jsonl"


def prepare_workspace(work_dir: Path, task: Task, trial: int) -> Path:
    """A fresh, empty directory holding the task's `setup` files."""
    workspace = work_dir / f"{task.id}.{trial}"
    try:
        workspace.mkdir(parents=True)
    except FileExistsError:  # left by an earlier attempt in the same work directory
        shutil.rmtree(workspace, ignore_errors=True)
        workspace.mkdir(parents=True)
    for relative, text in task.setup.items():
        target = workspace / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return workspace


class TrialRunner:
    """Runs trials against a server; one instance per eval run."""

    def __init__(self, settings: TrialSettings, provider: ToolProvider) -> None:
        self.settings = settings
        self.provider = provider
        self._folders: dict[str, bool] = {}  # task id -> its folder was made by this runner

    async def run(self, task: Task, trial: int, server: Server) -> TrialResult:
        """Run one trial to a `TrialResult` (never re-run: the backend owns retries).

        Raises:
            asyncio.CancelledError: The whole eval is being stopped (nothing is recorded).
        """
        # Without setup files and with tools that never touch it (fixed tools, BFCL), the
        # workspace stays unmade: its checks see an empty directory either way.
        made = bool(task.setup) or needs_workspace(self.provider)
        workspace = self.settings.work_dir / f"{task.id}.{trial}"
        if made:
            workspace = prepare_workspace(self.settings.work_dir, task, trial)
        try:
            try:
                toolset = await self.provider(task, workspace)
            except Exception as exc:
                return _broken_tools(task, trial, server, exc)
            try:
                return await self._run_and_judge(task, trial, server, workspace, toolset)
            finally:
                await toolset.aclose()
        finally:
            if made:
                await _remove(workspace)

    def _transcript_folder(self, task_id: str) -> bool:
        """Make the task's transcript folder once; True when it was made by this runner (so
        no wire log of an earlier run can be in it)."""
        if task_id not in self._folders:
            folder = self.settings.out_dir / TRANSCRIPTS_DIR / task_id
            try:
                folder.mkdir(parents=True)
                self._folders[task_id] = True
            except FileExistsError:
                self._folders[task_id] = False
        return self._folders[task_id]

    async def _run_and_judge(
        self, task: Task, trial: int, server: Server, workspace: Path, toolset: ToolSet
    ) -> TrialResult:
        messages_file, wire_file = transcript_paths(task.id, trial)
        wire = self.settings.out_dir / wire_file
        if not self._transcript_folder(task.id):
            wire.unlink(missing_ok=True)  # a trial re-run on resume starts a new log
        started_at = dt.datetime.now().astimezone()
        clock = time.perf_counter()
        stop_reason: str | None = None
        error: str | None = None
        result: RunResult | None = None
        try:
            async with asyncio.timeout(task.timeout or self.settings.timeout) as deadline:
                result = await self._agent_run(task, server, toolset, wire)
        except TimeoutError:
            stop_reason = "timeout"
        except Exception as exc:  # a trial must not end the eval
            stop_reason, error = "error", f"{type(exc).__name__}: {exc}"
            log.warning("eval.trial_error", task=task.id, trial=trial, error=error)
        _raise_if_stopping()
        if deadline.expired():
            stop_reason = "timeout"
        latency = time.perf_counter() - clock
        evidence = Evidence(
            answer=result.output if result else "",
            tool_calls=result.tool_calls if result else [],
            workspace=workspace,
            setup=task.setup,
            today=date_from_calls(result.tool_calls if result else [], started_at.date()),
        )
        checks = run_checks(task.checks, evidence)
        record = _record(task, trial, server, result, checks, latency)
        record = record.model_copy(
            update={
                "stop_reason": stop_reason or (result.stop_reason if result else "error"),
                "error": error or (_error_text(result.error) if result else None),
                "started_at": started_at.isoformat(timespec="seconds"),
                "today": evidence.today.isoformat(),
                "transcript": messages_file,
            }
        )
        if stop_reason is not None and record.passed:
            record = record.model_copy(update={"passed": False, "failure": f"run: {stop_reason}"})
        messages = result.messages if result else []
        write_conversation(self.settings.out_dir / messages_file, task, record, messages)
        return record

    async def _agent_run(
        self, task: Task, server: Server, toolset: ToolSet, wire: Path
    ) -> RunResult:
        # The registry is ours, not the agent's: a trial's tools are plain `Tool`s (servers
        # are the toolset's to stop), so closing it only drops its threads, no hop needed.
        registry = ToolRegistry(toolset.tools)
        try:
            agent = Agent(
                config=server.config,
                tools=registry,
                profile=task.profile or self.settings.profile,
                system=task.system if task.system is not None else self.settings.system,
                backend=server.backend,
            )
            return await agent.run(
                task.prompt,
                messages=task.messages,
                approver=_approve_all,
                transcript=wire,
                max_turns=task.max_turns or self.settings.max_turns,
                on_event=self.settings.events(server.model) if self.settings.events else None,
            )
        finally:
            registry.close()


async def observed_run(
    runner: TrialRunner, observer: TrialObserver | None, task: Task, trial: int, server: Server
) -> TrialResult:
    """`runner.run` inside the observer's context around the trial, when there is one."""
    if observer is None:
        return await runner.run(task, trial, server)
    with observer.trial(task, trial) as done:
        result = await runner.run(task, trial, server)
        done(result)
    return result


async def _remove(workspace: Path) -> None:
    try:
        workspace.rmdir()  # empty (most tasks): no thread needed
    except OSError:
        await asyncio.to_thread(shutil.rmtree, workspace, True)


def _compactions(result: RunResult | None) -> int:
    events = result.events if result else []
    return sum(1 for event in events if event.kind == "context_compacted")


def _error_text(error: Exception | None) -> str | None:
    return str(error) if error is not None else None


def _broken_tools(task: Task, trial: int, server: Server, exc: Exception) -> TrialResult:
    error = f"the tools could not be built: {type(exc).__name__}: {exc}"
    log.warning("eval.tools_error", task=task.id, trial=trial, error=error)
    return TrialResult(
        task_id=task.id,
        category=task.category,
        trial=trial,
        passed=False,
        failure=error,
        stop_reason="error",
        error=error,
        base_url=server.config.base_url or "",
        model=server.model,
    )


def _raise_if_stopping() -> None:
    # The loop turns a cancellation into a normal "cancelled" result; if the eval itself is
    # being cancelled (Ctrl-C), stop here instead of recording a half-run trial.
    current = asyncio.current_task()
    if current is not None and current.cancelling():
        raise asyncio.CancelledError


def _record(
    task: Task,
    trial: int,
    server: Server,
    result: RunResult | None,
    checks: list[CheckResult],
    latency: float,
) -> TrialResult:
    failed = next((c for c in checks if not c.passed), None)
    calls = result.tool_calls if result else []
    return TrialResult(
        task_id=task.id,
        category=task.category,
        trial=trial,
        passed=failed is None,
        failure=f"{failed.type}: {failed.detail}" if failed else None,
        checks=[CheckOutcome(type=c.type, passed=c.passed, detail=c.detail) for c in checks],
        stop_reason=result.stop_reason if result else "error",
        answer=(result.output if result else "")[:MAX_ANSWER_CHARS],
        turns=result.turns if result else 0,
        tool_calls=[
            CallSummary(
                name=c.name,
                arguments=c.arguments,
                error=c.error,
                recovered=c.recovered,
                turn=c.turn,
                duration=round(c.duration, 4),
            )
            for c in calls
        ],
        recovered_calls=result.recovered_calls if result else 0,
        compactions=_compactions(result),
        prompt_tokens=result.usage.prompt_tokens if result else 0,
        completion_tokens=result.usage.completion_tokens if result else 0,
        latency=round(latency, 4),
        base_url=server.config.base_url or "",
        model=(result.model if result and result.model else server.model),
    )


def write_conversation(
    path: Path, task: Task, record: TrialResult, messages: Sequence[Mapping[str, Any]]
) -> None:
    """The trial's conversation as JSON: one top-level field, and one message, per line.

    `json.dumps(indent=...)` would use the pure-Python encoder (several times slower on a
    whole conversation); this layout stays readable and diffable line by line.
    """
    head = {
        "task_id": task.id,
        "trial": record.trial,
        "passed": record.passed,
        "stop_reason": record.stop_reason,
        "checks": [c.model_dump() for c in record.checks],
        "setup": task.setup,
    }
    lines = [f"{_dumps(key)}: {_dumps(value)}," for key, value in head.items()]
    body = ",\n".join(_dumps(m) for m in messages)
    text = "{\n" + "\n".join(lines) + '\n"messages": [\n' + body + "\n]\n}\n"
    path.write_text(text, "utf-8")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
