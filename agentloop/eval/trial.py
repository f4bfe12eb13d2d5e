"""One trial of one task: a fresh workspace, the run, the checks, the transcript."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentloop.backend import Backend
from agentloop.config import AgentConfig
from agentloop.eval.checks import CheckResult, Evidence, date_from_calls, run_checks
from agentloop.eval.results import TRANSCRIPTS_DIR, CallSummary, CheckOutcome, TrialResult
from agentloop.eval.tasks import Task
from agentloop.eval.toolsets import ToolProvider
from agentloop.events import EventHandler
from agentloop.logs import get_logger
from agentloop.result import RunResult
from agentloop.run import arun_agent
from tools import ApprovalDecision, ApprovalRequest

log = get_logger(__name__)

MAX_ANSWER_CHARS = 2000


@dataclass(frozen=True, slots=True)
class TrialSettings:
    """How trials run.

    Attributes:
        timeout: Seconds one trial may take unless the task says otherwise.
        profile: Sampling profile unless the task names one.
        max_turns: Turn limit unless the task sets one.
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


@dataclass(frozen=True, slots=True)
class Server:
    """One backend the trials are spread over."""

    config: AgentConfig
    backend: Backend
    model: str


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

    async def run(self, task: Task, trial: int, server: Server) -> TrialResult:
        """Run one trial to a `TrialResult` (never re-run: the backend owns retries).

        Raises:
            asyncio.CancelledError: The whole eval is being stopped (nothing is recorded).
        """
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
            await asyncio.to_thread(shutil.rmtree, workspace, True)

    async def _run_and_judge(
        self, task: Task, trial: int, server: Server, workspace: Path, toolset: Any
    ) -> TrialResult:
        messages_file, wire_file = transcript_paths(task.id, trial)
        wire = self.settings.out_dir / wire_file
        wire.unlink(missing_ok=True)
        started_at = dt.datetime.now().astimezone()
        clock = time.perf_counter()
        stop_reason: str | None = None
        error: str | None = None
        result: RunResult | None = None
        try:
            async with asyncio.timeout(task.timeout or self.settings.timeout) as deadline:
                result = await arun_agent(
                    task.prompt,
                    messages=task.messages,
                    tools=toolset.tools,
                    config=server.config,
                    backend=server.backend,
                    profile=task.profile or self.settings.profile,
                    max_turns=task.max_turns or self.settings.max_turns,
                    system=task.system,
                    approver=_approve_all,
                    transcript=wire,
                    on_event=self.settings.events(server.model) if self.settings.events else None,
                )
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
        _write_messages(self.settings.out_dir / messages_file, task, record, result)
        return record


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


def _write_messages(path: Path, task: Task, record: TrialResult, result: RunResult | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "task_id": task.id,
        "trial": record.trial,
        "passed": record.passed,
        "stop_reason": record.stop_reason,
        "checks": [c.model_dump() for c in record.checks],
        "setup": task.setup,
        "messages": result.messages if result else [],
    }
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=str), "utf-8")
