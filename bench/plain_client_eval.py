"""The eval suite through a plain OpenAI client: what the same model does without agentloop.

    .venv/bin/python bench/plain_client_eval.py evals/basic.jsonl --model 0.5b --trials 3
    .venv/bin/python bench/plain_client_eval.py evals/basic.jsonl --base-url URL --limit 5

Each task (the `agentloop eval` format, read by `load_tasks`) runs through the loop a
careful user writes with `AsyncOpenAI`: send the messages and the tools' OpenAI schemas;
for each structured `tool_calls` entry `json.loads` the arguments, run the tool, append
the result (a decode error or a tool error is the `role: "tool"` text); repeat until a
reply has no calls or `max_turns` (the task's, else 20 as in agentloop) replies were
used. Nothing else: no system prompt unless the task has one, no recovery of calls
written as text, no nudges, no repeat guard, no context fitting or compaction, no
runaway watch, strict JSON (agentloop also reads Python-literal arguments).

Only the loop differs from `agentloop eval`. Sampling is the model's agentloop profile
(`agentloop.profiles`, by model id or the task's `profile`; tool-loop settings after tool
results, under the server's field names): same temperature, top_k, reply cap. The tools
are the same sandboxed built-ins with the same schemas, in a fresh workspace per trial
holding the task's `setup` files (`BuiltinTools`, `prepare_workspace`), run through the
tools package's `ToolRegistry.call` (validation, sandbox, timeouts, output cap). Trials
are judged by `agentloop.eval.checks`, and the output directory is an eval run that
`agentloop eval report DIR` and `agentloop eval compare A B` read.

The server is the embedded llama-server (`--model 0.5b|1.5b`, the cached GGUF) started as
`agentloop eval` starts it (`ensure_backend`) but with the model's OWN chat template
(`--shipped-template`: agentloop's, to tell the template's share from the loop's), or a
running one (`--base-url`).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import openai

from agentloop.backend import OpenAIBackend
from agentloop.config import AgentConfig
from agentloop.eval import (
    BuiltinTools,
    Evidence,
    Task,
    TrialResult,
    load_tasks,
    read_results,
    run_checks,
)
from agentloop.eval.checks import date_from_calls
from agentloop.eval.results import (
    RESULTS_FILE,
    CallSummary,
    CheckOutcome,
    ResultsWriter,
    RunInfo,
    write_run_info,
)
from agentloop.eval.runner import write_outputs
from agentloop.eval.summary import Summary
from agentloop.eval.trial import (
    MAX_ANSWER_CHARS,
    prepare_workspace,
    transcript_paths,
    write_conversation,
)
from agentloop.profiles import Profile, ServerKind, resolve_profile, wire_fields
from agentloop.result import ToolCallRecord
from agentloop.server import EmbeddedOptions, ensure_backend
from tools import ApprovalDecision, ApprovalRequest, Tool, ToolContext, ToolRegistry

DEFAULT_MAX_TURNS = AgentConfig().max_turns


@dataclass(frozen=True, slots=True)
class Target:
    """The server the trials talk to."""

    base_url: str
    model: str
    kind: ServerKind


@dataclass(frozen=True, slots=True)
class Settings:
    """How trials run (the flags of `agentloop eval` that apply)."""

    work_dir: Path
    out_dir: Path
    timeout: float = 300.0
    profile: str | None = None
    max_turns: int | None = None


@dataclass(slots=True)
class Conversation:
    """One trial's conversation so far; kept outside the loop so a timeout keeps it."""

    messages: list[dict[str, Any]]
    calls: list[ToolCallRecord] = field(default_factory=list)
    answer: str = ""
    turns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    stop_reason: str = "max_turns"
    error: str | None = None


async def _approve_all(request: ApprovalRequest) -> ApprovalDecision:
    return "yes"  # as in `agentloop eval`: the sandbox and the command policy are the guard


def start_messages(task: Task) -> list[dict[str, Any]]:
    """The task's system prompt (if any), its messages, then its prompt."""
    messages: list[dict[str, Any]] = []
    if task.system:
        messages.append({"role": "system", "content": task.system})
    messages.extend(dict(m) for m in task.messages or [])
    if task.prompt is not None:
        messages.append({"role": "user", "content": task.prompt})
    return messages


async def run_call(
    registry: ToolRegistry, context: ToolContext, call: Any, turn: int
) -> ToolCallRecord:
    """Run one structured call as a hand-written loop does: strict `json.loads`, then the
    tool; any failure is the text the model gets back."""
    name, raw = call.function.name, call.function.arguments or "{}"
    started = time.perf_counter()
    try:
        arguments = json.loads(raw)
    except json.JSONDecodeError as exc:
        text = f"Error: the arguments are not valid JSON: {exc}"
        return ToolCallRecord(call.id, name, None, raw, text, "bad_json", False, turn, 0.0)
    if not isinstance(arguments, dict):
        text = "Error: the arguments must be a JSON object"
        return ToolCallRecord(call.id, name, None, raw, text, "bad_json", False, turn, 0.0)
    outcome = await registry.call(
        name, arguments, context=context, approver=_approve_all, call_id=call.id
    )
    duration = time.perf_counter() - started
    return ToolCallRecord(
        call.id, name, arguments, raw, outcome.content, outcome.error, False, turn, duration
    )


def _assistant_message(message: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"role": "assistant", "content": message.content or ""}
    if message.tool_calls:
        entry["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.function.name, "arguments": c.function.arguments},
            }
            for c in message.tool_calls
        ]
    return entry


async def ask(
    client: openai.AsyncOpenAI,
    target: Target,
    profile: Profile,
    conversation: Conversation,
    tools: list[dict[str, Any]],
) -> Any:
    """One request with the profile's sampling for this turn; the reply's message."""
    after_tools = conversation.messages[-1]["role"] == "tool"
    body = wire_fields(profile.settings(in_tool_loop=after_tools), target.kind)
    if profile.chat_template_kwargs:
        body["chat_template_kwargs"] = dict(profile.chat_template_kwargs)
    if tools:
        body["tools"] = tools
    response = await client.chat.completions.create(
        model=target.model, messages=cast(Any, conversation.messages), extra_body=body
    )
    if response.usage is not None:
        conversation.prompt_tokens += response.usage.prompt_tokens
        conversation.completion_tokens += response.usage.completion_tokens
    return response.choices[0].message


async def plain_loop(
    client: openai.AsyncOpenAI,
    target: Target,
    task: Task,
    tools: list[Tool],
    conversation: Conversation,
    *,
    profile: str | None,
    max_turns: int,
) -> None:
    """Ask, run the calls, append, repeat; the outcome is left on `conversation`."""
    chosen = resolve_profile(task.profile or profile, target.model)
    schemas = [t.definition.to_openai() for t in tools]
    registry, context = ToolRegistry(tools), ToolContext(run_id=task.id)
    try:
        while conversation.turns < max_turns:
            conversation.turns += 1
            try:
                message = await ask(client, target, chosen, conversation, schemas)
            except openai.APIError as exc:
                conversation.stop_reason = "backend_error"
                conversation.error = f"{type(exc).__name__}: {exc}"
                return
            conversation.messages.append(_assistant_message(message))
            if not message.tool_calls:
                conversation.answer, conversation.stop_reason = message.content or "", "completed"
                return
            for call in message.tool_calls:
                record = await run_call(registry, context, call, conversation.turns)
                conversation.calls.append(record)
                conversation.messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": record.output}
                )
        conversation.stop_reason = "max_turns"
    finally:
        registry.close()
        await context.aclose()


def judge(
    task: Task,
    trial: int,
    target: Target,
    conversation: Conversation,
    workspace: Path,
    started_at: dt.datetime,
) -> TrialResult:
    """The trial's verdict by agentloop's checks, as a `results.jsonl` record (everything
    but latency and the transcript path)."""
    today = date_from_calls(conversation.calls, started_at.date())
    evidence = Evidence(conversation.answer, conversation.calls, workspace, task.setup, today)
    checks = run_checks(task.checks, evidence)
    failed = next((c for c in checks if not c.passed), None)
    failure = f"{failed.type}: {failed.detail}" if failed else None
    if failed is None and conversation.stop_reason in ("timeout", "error"):
        failure = f"run: {conversation.stop_reason}"  # as agentloop eval judges these
    return TrialResult(
        task_id=task.id,
        category=task.category,
        trial=trial,
        passed=failure is None,
        failure=failure,
        checks=[CheckOutcome(type=c.type, passed=c.passed, detail=c.detail) for c in checks],
        stop_reason=conversation.stop_reason,
        error=conversation.error,
        answer=conversation.answer[:MAX_ANSWER_CHARS],
        turns=conversation.turns,
        tool_calls=[
            CallSummary(
                name=c.name,
                arguments=c.arguments,
                error=c.error,
                turn=c.turn,
                duration=round(c.duration, 4),
            )
            for c in conversation.calls
        ],
        recovered_calls=0,
        compactions=0,
        prompt_tokens=conversation.prompt_tokens,
        completion_tokens=conversation.completion_tokens,
        base_url=target.base_url,
        model=target.model,
        started_at=started_at.isoformat(timespec="seconds"),
        today=today.isoformat(),
    )


async def run_trial(
    client: openai.AsyncOpenAI,
    target: Target,
    task: Task,
    trial: int,
    settings: Settings,
    provider: BuiltinTools,
) -> TrialResult:
    """One trial in a fresh workspace: the plain loop, the checks, the transcript."""
    workspace = prepare_workspace(settings.work_dir, task, trial)
    conversation = Conversation(start_messages(task))
    started_at = dt.datetime.now().astimezone()
    clock = time.perf_counter()
    try:
        toolset = await provider(task, workspace)
        try:
            async with asyncio.timeout(task.timeout or settings.timeout):
                await plain_loop(
                    client,
                    target,
                    task,
                    toolset.tools,
                    conversation,
                    profile=settings.profile,
                    max_turns=task.max_turns or settings.max_turns or DEFAULT_MAX_TURNS,
                )
        except TimeoutError:
            conversation.stop_reason = "timeout"
        finally:
            await toolset.aclose()
    except Exception as exc:  # a trial must not end the run
        conversation.stop_reason, conversation.error = "error", f"{type(exc).__name__}: {exc}"
    try:
        record = judge(task, trial, target, conversation, workspace, started_at)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    messages_file, _ = transcript_paths(task.id, trial)
    record = record.model_copy(
        update={"latency": round(time.perf_counter() - clock, 4), "transcript": messages_file}
    )
    path = settings.out_dir / messages_file
    path.parent.mkdir(parents=True, exist_ok=True)
    write_conversation(path, task, record, conversation.messages)
    return record


async def run_all(
    client: openai.AsyncOpenAI,
    target: Target,
    tasks: Sequence[Task],
    trials: int,
    settings: Settings,
    provider: BuiltinTools,
    concurrency: int = 1,
    skip: Container[tuple[str, int]] = (),
) -> list[TrialResult]:
    """Every (task, trial) not in `skip`, `concurrency` at a time, each appended to
    `results.jsonl` as it finishes (in `agentloop eval`'s order: trial 0 of every task
    first)."""
    writer = ResultsWriter(settings.out_dir / RESULTS_FILE)
    jobs = [(t, i) for i in range(trials) for t in tasks if (t.id, i) not in skip]
    gate = asyncio.Semaphore(concurrency)
    done: list[TrialResult] = []

    async def one(task: Task, index: int) -> None:
        async with gate:
            result = await run_trial(client, target, task, index, settings, provider)
        writer.write(result)
        done.append(result)
        verdict = "pass" if result.passed else f"FAIL ({result.failure})"
        print(
            f"[{len(done)}/{len(jobs)}] {task.id} #{index}: {verdict}, {result.stop_reason}, "
            f"{result.turns} turn(s), {result.latency:.1f} s",
            file=sys.stderr,
            flush=True,
        )

    try:
        await asyncio.gather(*(one(task, index) for task, index in jobs))
    finally:
        writer.close()
    return done


async def probe(config: AgentConfig) -> Target:
    """Model id and server kind, found as agentloop finds them (for the same sampling)."""
    backend = OpenAIBackend(config)
    try:
        info = await backend.info()
    finally:
        await backend.aclose()
    return Target(config.base_url or "", info.model, info.kind)


def select(tasks: list[Task], ids: str | None, limit: int | None) -> list[Task]:
    """The tasks named in `ids` (comma-separated, file order), then the first `limit`."""
    if ids:
        wanted = {i.strip() for i in ids.split(",") if i.strip()}
        unknown = wanted - {t.id for t in tasks}
        if unknown:
            raise SystemExit(f"plain_client_eval: unknown task id(s): {', '.join(sorted(unknown))}")
        tasks = [t for t in tasks if t.id in wanted]
    return tasks[:limit] if limit is not None else tasks


def print_summary(summary: Summary, out_dir: Path, seconds: float) -> None:
    """Pass rates overall and per category, as `agentloop eval` prints them."""
    s = summary
    print(
        f"pass@1 {s.overall.pass_at_1:.1%}  pass^{s.k} {s.overall.pass_hat_k:.1%}  "
        f"({s.overall.passed_trials}/{s.overall.trials} trials passed, {s.overall.tasks} tasks)"
    )
    for group in s.categories:
        print(
            f"  {group.name:<20} pass@1 {group.pass_at_1:6.1%}  pass^{s.k} {group.pass_hat_k:6.1%}"
        )
    print(f"calls {s.tool_calls} (plain client: none recovered from text)")
    print(f"stop reasons: {', '.join(f'{k} {v}' for k, v in s.stop_reasons.items())}")
    print(
        f"trial latency p50 {s.latency_p50:.1f} s, p95 {s.latency_p95:.1f} s; wall {seconds:.0f} s"
    )
    print(f"results in {out_dir}/ (summary.md, report.html)")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("tasks", type=Path, help="task file (JSONL, as for agentloop eval)")
    parser.add_argument("--model", default="1.5b", help="embedded model: 0.5b or 1.5b")
    parser.add_argument("--base-url", help="a running server instead of the embedded one")
    parser.add_argument(
        "--shipped-template",
        action="store_true",
        help="start the embedded server with agentloop's chat template, not the model's own",
    )
    parser.add_argument("--ctx-size", type=int, help="embedded server context (default 8192)")
    parser.add_argument("--trials", type=int, default=1, help="trials per task (default 1)")
    parser.add_argument("--concurrency", type=int, default=1, help="trials at once (default 1)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per trial")
    parser.add_argument("--max-turns", type=int, help="turn limit for tasks that set none")
    parser.add_argument("--profile", help="sampling profile for tasks that name none")
    parser.add_argument("--ids", help="only these task ids (comma-separated)")
    parser.add_argument("--limit", type=int, help="only the first N tasks (after --ids)")
    parser.add_argument("--out", type=Path, help="output directory (default eval-runs/plain-…)")
    parser.add_argument("--resume", action="store_true", help="run only trials not in --out")
    parser.add_argument(
        "--allow-unsafe", action="store_true", help="run tools without isolation if none"
    )
    args = parser.parse_args(argv)
    if args.resume and args.out is None:
        parser.error("--resume needs --out DIR (the run to continue)")
    if args.trials < 1 or args.concurrency < 1 or (args.limit is not None and args.limit < 1):
        parser.error("--trials, --concurrency and --limit must be at least 1")
    return args


def _out_dir(args: argparse.Namespace) -> Path:
    if args.out is not None:
        out: Path = args.out
    else:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        server = "server" if args.base_url else args.model
        out = Path("eval-runs") / f"plain-{args.tasks.stem}-{server}-{stamp}"
    results = out / RESULTS_FILE
    if not args.resume and results.exists() and results.stat().st_size > 0:
        raise SystemExit(
            f"plain_client_eval: {out} already holds results: --resume, or another --out"
        )
    return out


async def amain(args: argparse.Namespace) -> int:
    """Start (or reach) the server, run every trial, write the outputs, print the rates."""
    tasks = select(load_tasks(args.tasks), args.ids, args.limit)
    out = _out_dir(args)
    skip = {t.key for t in read_results(out / RESULTS_FILE)} if args.resume else set()
    provider = BuiltinTools(allow_unsafe=args.allow_unsafe)
    await provider.prepare(tasks, str(args.tasks))  # chooses the sandbox tier once
    embedded = EmbeddedOptions.from_env(
        os.environ,
        model=args.model,
        ctx_size=args.ctx_size,
        native_template=not args.shipped_template,
    )
    work_dir = Path(tempfile.mkdtemp(prefix="plain-eval-"))
    work_dir.chmod(0o711)  # a sandbox that drops root must still reach its workspace
    settings = Settings(work_dir, out, args.timeout, args.profile, args.max_turns)
    started, clock = dt.datetime.now().astimezone(), time.perf_counter()
    try:
        async with ensure_backend(AgentConfig(base_url=args.base_url), embedded) as config:
            target = await probe(config)
            print(f"plain client on {target.base_url} ({target.model}, {target.kind})", flush=True)
            client = openai.AsyncOpenAI(base_url=target.base_url, api_key="sk-no-key-required")
            async with client:
                await run_all(
                    client, target, tasks, args.trials, settings, provider, args.concurrency, skip
                )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    info = RunInfo(
        tasks_file=str(args.tasks),
        trials=args.trials,
        model=target.model,
        base_urls=[target.base_url],
        profile=args.profile,
        concurrency=args.concurrency,
        task_count=len(tasks),
        started_at=started.isoformat(timespec="seconds"),
        finished_at=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    )
    write_run_info(out, info)
    summary, _ = write_outputs(out, info)
    print_summary(summary, out, time.perf_counter() - clock)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    return asyncio.run(amain(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
