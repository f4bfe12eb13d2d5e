"""`agentloop eval`: run a JSONL suite of tool tasks and write results, summary and report.

    agentloop eval TASKS.jsonl [--base-url URL ...] [--trials K] [--concurrency N] [--out DIR]
                               [--workers W] [--resume] [--fail-under RATE]
    agentloop eval bfcl [--categories simple_python,multiple,...] [--limit N] [options]
    agentloop eval compare RUN_A RUN_B
    agentloop eval report RUN_DIR      (rewrite summary.md and report.html)

Exit codes: 0 done; 1 pass@1 below --fail-under, or the server failed; 2 bad usage or a bad
task file (nothing runs); 130 interrupted (finished trials are kept: --resume goes on).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agentloop.cli.common_args import (
    add_connection_options,
    cli_environ,
    connection_overrides,
    env_value,
)
from agentloop.cli.mcp_args import add_mcp_arguments, mcp_configs
from agentloop.config import AgentConfig
from agentloop.context import ContextPolicy
from agentloop.errors import AgentloopError, ConfigError

if TYPE_CHECKING:
    from agentloop.eval.runner import EvalOptions, EvalOutcome
    from agentloop.eval.tasks import Task
    from agentloop.eval.toolsets import ToolProvider
    from agentloop.telemetry import TelemetryConfig
    from agentloop.telemetry.tracing import TrialTracer

_SUBCOMMANDS = ("compare", "report")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `eval` sub-command."""
    parser = subparsers.add_parser(
        "eval",
        help="run a suite of tool tasks and report pass rates",
        description="Run TASKS.jsonl (see docs/eval.md) against one or more servers, or "
        "`eval compare RUN_A RUN_B`, or `eval report RUN_DIR`.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    parser.add_argument("target", help="TASKS.jsonl, or `bfcl` / `compare` / `report`")
    parser.add_argument("runs", nargs="*", help="run directories for compare / report")
    parser.add_argument(
        "--base-url",
        action="append",
        default=[],
        help="server URL; repeat to spread trials over several servers (round-robin). "
        "Default: AGENTLOOP_BASE_URL, else the embedded llama-server",
    )
    add_connection_options(parser)
    parser.add_argument("--model", help="model id (env AGENTLOOP_MODEL; default: the server's)")
    parser.add_argument("--profile", help="sampling profile for tasks that name none")
    parser.add_argument(
        "--system",
        help="system prompt for tasks that set none (env AGENTLOOP_SYSTEM; default: the "
        "profile's own; '' for none)",
    )
    parser.add_argument("--trials", type=int, default=1, help="trials per task, K (default 1)")
    parser.add_argument("--concurrency", type=int, default=4, help="trials at once (default 4)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes the trials run in, sharing one queue and splitting --concurrency "
        "(default 1: this process); more when one core cannot keep up with the servers",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per trial")
    parser.add_argument("--max-turns", type=int, help="turn limit for tasks that set none")
    parser.add_argument(
        "--context-size",
        type=int,
        help="the servers' context window in tokens when they do not report one (env "
        "AGENTLOOP_CONTEXT_SIZE)",
    )
    parser.add_argument(
        "--no-compaction",
        action="store_true",
        help="send each conversation as it is, even when it outgrows the context window",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=None,
        help="retries of a failed request to the server (connection errors, 408, 429, 5xx); "
        "a trial itself is never re-run",
    )
    parser.add_argument("--out", type=Path, help="output directory (default eval-runs/NAME-TIME)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument(
        "--fail-under", type=_rate, help="exit 1 when pass@1 is below this (0.8 or 80%%)"
    )
    parser.add_argument(
        "--allow-unsafe",
        action="store_true",
        help="run sandboxed tools without isolation when none is available (warns)",
    )
    parser.add_argument(
        "--no-stream", action="store_true", help="ask for whole replies instead of streams"
    )
    parser.add_argument(
        "--categories", help="bfcl: comma-separated BFCL categories (default: all supported)"
    )
    parser.add_argument("--limit", type=int, help="bfcl: first N questions of each category")
    parser.add_argument(
        "--otel",
        action="store_true",
        help="trace trials with OpenTelemetry (OTEL_* settings; default OTLP to localhost:4318)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--debug", action="store_true", help="debug logs on stderr")
    add_mcp_arguments(parser)  # every trial starts its own servers
    parser.set_defaults(handler=_handle)


def _rate(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"give a pass rate such as 0.8 or 80%, not {text!r}"
        ) from None
    if text.endswith("%") or value > 1:
        value /= 100
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("give a rate between 0 and 1 (or 0% and 100%)")
    return value


def _handle(args: argparse.Namespace) -> int:
    from agentloop.cli.chat_cmd import configure_logging

    configure_logging(args.debug)
    if args.target in _SUBCOMMANDS:
        return _compare(args.runs) if args.target == "compare" else _report(args.runs)
    if args.runs:
        print(f"agentloop eval: unexpected arguments: {' '.join(args.runs)}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(args, cli_environ(args)))
    except KeyboardInterrupt:
        print("agentloop eval: interrupted", file=sys.stderr)
        return 130


def _compare(runs: Sequence[str]) -> int:
    from agentloop.eval.compare import compare_runs, load_run, render_comparison

    if len(runs) != 2:
        print("usage: agentloop eval compare RUN_A RUN_B", file=sys.stderr)
        return 2
    try:
        before, after = load_run(Path(runs[0])), load_run(Path(runs[1]))
    except (FileNotFoundError, ValueError) as exc:
        print(f"agentloop eval compare: {exc}", file=sys.stderr)
        return 2
    print(render_comparison(compare_runs(before, after), runs[0], runs[1]), end="")
    return 0


def _report(runs: Sequence[str]) -> int:
    from agentloop.eval.results import read_run_info
    from agentloop.eval.runner import write_outputs

    if len(runs) != 1:
        print("usage: agentloop eval report RUN_DIR", file=sys.stderr)
        return 2
    out = Path(runs[0])
    info = read_run_info(out)
    if info is None:
        print(f"agentloop eval report: {out} has no run.json", file=sys.stderr)
        return 2
    write_outputs(out, info)
    print(f"wrote {out / 'summary.md'} and {out / 'report.html'}")
    return 0


def _configs(args: argparse.Namespace, environ: Mapping[str, str]) -> list[AgentConfig]:
    base = AgentConfig.from_env(
        environ,
        model=args.model,
        profile=args.profile,
        stream=False if args.no_stream else None,
        max_retries=max(0, args.retries) if args.retries is not None else None,
        **connection_overrides(args),
        context_size=args.context_size,
        context=ContextPolicy.off() if args.no_compaction else None,
    )
    return [base.with_(base_url=url) for url in args.base_url] or [base]


def _out_dir(args: argparse.Namespace) -> Path:
    if args.out is not None:
        return Path(args.out)
    if args.resume:
        raise ConfigError("--resume needs --out DIR (the run to continue)")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("eval-runs") / f"{Path(args.target).stem}-{stamp}"


def _load(
    args: argparse.Namespace, environ: Mapping[str, str]
) -> tuple[list[Task], ToolProvider | None, str]:
    """(tasks, their tool provider or None for built-in tools, the name shown as source)."""
    if args.target != "bfcl":
        from agentloop.eval.tasks import load_tasks

        return load_tasks(args.target), None, str(args.target)
    from agentloop.eval.bfcl.data import BFCL_VERSION, data_dir, parse_categories
    from agentloop.eval.bfcl.suite import load_suite
    from agentloop.server import cache_dir_from_env

    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    data = data_dir(cache_dir_from_env(environ))
    tasks, provider = load_suite(data, parse_categories(args.categories), args.limit)
    return tasks, provider, f"bfcl-eval=={BFCL_VERSION}"


async def _run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from agentloop.eval.runner import EvalOptions
    from agentloop.eval.tasks import TaskFileError

    try:
        tasks, provider, source = _load(args, environ)
        mcp_configs(args)  # a bad --mcp/--mcp-config fails before anything runs
        configs = _configs(args, environ)
        options = EvalOptions(
            out_dir=_out_dir(args),
            trials=args.trials,
            concurrency=args.concurrency,
            workers=args.workers,
            timeout=args.timeout,
            profile=args.profile,
            max_turns=args.max_turns,
            system=env_value(args, "system", environ),
            resume=args.resume,
            tasks_file=source,
        )
    except TaskFileError as exc:
        print("\n".join(exc.errors), file=sys.stderr)
        print(f"agentloop eval: nothing ran ({len(exc.errors)} problem(s))", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"agentloop eval: {exc}", file=sys.stderr)
        return 2
    return await _execute(tasks, configs, options, args, provider, environ)


async def _execute(
    tasks: Sequence[Task],
    configs: list[AgentConfig],
    options: EvalOptions,
    args: argparse.Namespace,
    provider: ToolProvider | None,
    environ: Mapping[str, str],
) -> int:
    from agentloop.eval.progress import EvalProgress
    from agentloop.eval.runner import run_eval
    from agentloop.eval.tasks import TaskFileError
    from agentloop.eval.toolsets import BuiltinTools
    from agentloop.server import EmbeddedOptions, ensure_backend

    provider = provider or BuiltinTools(allow_unsafe=args.allow_unsafe, mcp=mcp_configs(args))
    progress = EvalProgress() if not args.no_progress and sys.stderr.isatty() else None
    try:
        tracer = _tracer(args, environ, options)
    except ConfigError as exc:
        print(f"agentloop eval: {exc}", file=sys.stderr)
        return 2
    # With workers, each worker process traces its own trials to the same exporter.
    observer = tracer() if tracer is not None and options.workers == 1 else None
    factory = tracer if options.workers > 1 else None
    try:
        async with ensure_backend(configs[0], EmbeddedOptions.from_env(environ)) as first:
            ready = [first, *configs[1:]]
            if progress is None:
                outcome = await run_eval(
                    tasks,
                    ready,
                    options,
                    provider=provider,
                    observer=observer,
                    observer_factory=factory,
                )
            else:
                with progress:
                    outcome = await run_eval(
                        tasks,
                        ready,
                        options,
                        provider=provider,
                        on_trial=progress.advance,
                        on_start=progress.start,
                        observer=observer,
                        observer_factory=factory,
                    )
    except TaskFileError as exc:
        print("\n".join(exc.errors), file=sys.stderr)
        return 2
    except AgentloopError as exc:
        print(f"agentloop eval: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    finally:
        if observer is not None:
            observer.close()
    return _finish(outcome, options, args.fail_under)


def _tracer(
    args: argparse.Namespace, environ: Mapping[str, str], options: EvalOptions
) -> Callable[[], TrialTracer] | None:
    """What makes the run's trial tracer (in this process, or in each worker), or None
    when tracing is off."""
    from agentloop.telemetry import TelemetryConfig

    config = TelemetryConfig.from_env(environ, flag=args.otel)
    if config is None:
        return None
    try:
        import agentloop.telemetry.tracing  # noqa: F401  (the otel extra is installed)
    except ImportError as exc:
        hint = f"tracing needs the otel extra: pip install 'agentloop[otel]' ({exc})"
        raise ConfigError(hint) from None
    return functools.partial(trial_tracer, config, str(options.out_dir))


def trial_tracer(config: TelemetryConfig, run_id: str) -> TrialTracer:
    """A `TrialTracer` exporting where `config` says (module-level: worker processes
    import it by name)."""
    from agentloop.telemetry.tracing import Tracing, TrialTracer

    return TrialTracer(Tracing(config), run_id=run_id)


def _finish(outcome: EvalOutcome, options: EvalOptions, fail_under: float | None) -> int:
    from agentloop.eval.results import REPORT_FILE, SUMMARY_FILE

    s = outcome.summary
    print(
        f"pass@1 {s.overall.pass_at_1:.1%}  pass^{s.k} {s.overall.pass_hat_k:.1%}  "
        f"({s.overall.passed_trials}/{s.overall.trials} trials passed, {s.overall.tasks} tasks)"
    )
    for group in s.categories:
        rates = f"pass@1 {group.pass_at_1:6.1%}  pass^{s.k} {group.pass_hat_k:6.1%}"
        print(f"  {group.name:<20} {rates}")
    print(f"calls {s.tool_calls}, recovered from text {s.recovered_calls}")
    print(f"results in {options.out_dir}/ ({SUMMARY_FILE}, {REPORT_FILE})")
    if outcome.interrupted:
        print(
            f"agentloop eval: interrupted; continue with --resume --out {options.out_dir}",
            file=sys.stderr,
        )
        return 130
    if fail_under is not None and s.overall.pass_at_1 < fail_under:
        print(
            f"agentloop eval: pass@1 {s.overall.pass_at_1:.1%} is below --fail-under "
            f"{fail_under:.1%}",
            file=sys.stderr,
        )
        return 1
    return 0
