"""Throughput and memory of `agentloop eval` against a fake server with a fixed latency.

Part 1: 100 tasks x 3 turns (two tool calls, then an answer) at concurrency 32 against a
fake OpenAI server that answers every request after 200 ms. Printed: achieved throughput
over the ideal (target >= 0.9), against two ideals:
- the issue's: latency x turns / concurrency per task, i.e. 100 x 0.6 / 32 = 1.875 s;
- the schedulable one: a task's 3 turns are sequential, so 100 tasks on 32 workers need
  ceil(100 / 32) = 4 rounds of 0.6 s = 2.4 s even with zero overhead. Against the issue's
  ideal the ratio therefore cannot exceed 1.875 / 2.4 = 0.78 at these sizes; pass a task
  count that is a multiple of the concurrency (e.g. --tasks 128) to make the two agree.

Part 2: 1,000 tasks (same shape, 50 ms latency) with the resident set size sampled every
100 trials; it must stay flat (no per-trial growth), and the peak RSS is printed.

Part 3 (`--cpu`, alone): client CPU per model request of the eval runner against
`Agent.run` in the same process and run: the same 3-turn conversations at the same
concurrency against the same fake server (1 ms per reply), `time.process_time()` over the
trial phase divided by the requests; variants alternate for `--reps` rounds, the medians
and their ratio are printed. `--cpu-profile` adds a cProfile of the runner by package.

Part 4 (`--cpu --workers N`): the same runs through `run_eval` with `workers=1` and with
`workers=N` (worker processes sharing the queue, `--concurrency` split over them), rounds
alternating; printed per variant, medians: requests per second and client CPU per request
(this process plus the workers, read from /proc), both from the first finished trial to the
last, so the workers' start-up is not in them.

The fake server runs in its own process so that its work does not share the runner's GIL.

Usage: .venv/bin/python bench/eval_throughput.py [--tasks 100] [--latency 0.2]
       [--concurrency 32] [--memory-tasks 1000] [--no-stream]
       .venv/bin/python bench/eval_throughput.py --cpu [--tasks 128] [--reps 5] [--cpu-profile]
       .venv/bin/python bench/eval_throughput.py --cpu --workers 2 [--tasks 512] [--reps 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import math
import multiprocessing
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agentloop import Agent
from agentloop.config import AgentConfig
from agentloop.eval import EvalOptions, FixedTools, load_tasks, run_eval
from agentloop.eval.results import TrialResult
from tools import tool

TURNS = 3

SERVER = """
import sys, time
from agentloop.testing import FakeOpenAIServer, FakeReply

def step(body):
    done = sum(1 for m in body["messages"] if m["role"] == "tool")
    if done < 2:
        return FakeReply(tool_calls=[("add_number", {"a": done, "b": 1})])
    return FakeReply(content="The answer is 2.")

with FakeOpenAIServer([step], latency=float(sys.argv[1])) as server:
    print(server.base_url, flush=True)
    sys.stdin.read()
"""


@tool
def add_number(a: float, b: float) -> float:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


def write_tasks(path: Path, count: int) -> Path:
    check = [{"type": "answer_number", "value": 2}, {"type": "tool_called", "name": "add_number"}]
    lines = [
        json.dumps({"id": f"t{i:04d}", "category": "bench", "prompt": f"task {i}", "checks": check})
        for i in range(count)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def rss_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


class Clock:
    """Times the trial phase and samples memory as trials finish."""

    def __init__(self, sample_every: int) -> None:
        self.start = 0.0
        self.end = 0.0
        self.done = 0
        self.passed = 0
        self.every = sample_every
        self.samples: list[tuple[int, float]] = []

    def on_start(self, total: int, done: int) -> None:
        self.start = time.perf_counter()

    def on_trial(self, trial: TrialResult) -> None:
        self.done += 1
        self.passed += trial.passed
        self.end = time.perf_counter()
        if self.done % self.every == 0:
            self.samples.append((self.done, rss_mib()))


class FakeServer:
    """The fake server in its own process, for the length of a `with` block."""

    def __init__(self, latency: float) -> None:
        self.latency = latency

    def __enter__(self) -> str:
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(self.latency)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def __exit__(self, *exc: object) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=10)


async def one_run(
    count: int, latency: float, concurrency: int, stream: bool, sample_every: int
) -> tuple[Clock, float]:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            tasks = load_tasks(write_tasks(Path(tmp) / "bench.jsonl", count))
            clock = Clock(sample_every)
            started = time.perf_counter()
            config = AgentConfig(base_url=base_url, stream=stream, model="fake-model.gguf")
            await run_eval(
                tasks,
                [config],
                EvalOptions(out_dir=Path(tmp) / "out", concurrency=concurrency),
                provider=FixedTools([add_number]),
                on_trial=clock.on_trial,
                on_start=clock.on_start,
            )
            return clock, time.perf_counter() - started
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=10)


async def runner_cpu(base_url: str, count: int, concurrency: int, stream: bool) -> float:
    """Client CPU seconds per request of `run_eval`'s trial phase (first to last trial)."""
    with tempfile.TemporaryDirectory() as tmp:
        tasks = load_tasks(write_tasks(Path(tmp) / "bench.jsonl", count))
        marks: list[float] = []
        config = AgentConfig(base_url=base_url, stream=stream, model="fake-model.gguf")
        await run_eval(
            tasks,
            [config],
            EvalOptions(out_dir=Path(tmp) / "out", concurrency=concurrency),
            provider=FixedTools([add_number]),
            on_start=lambda total, done: marks.append(time.process_time()),
            on_trial=lambda trial: marks.append(time.process_time()),
        )
    return (marks[-1] - marks[0]) / (count * TURNS)


async def agent_cpu(base_url: str, count: int, concurrency: int, stream: bool) -> float:
    """Client CPU seconds per request of `Agent.run` on the same conversations."""
    config = AgentConfig(base_url=base_url, stream=stream, model="fake-model.gguf")
    async with Agent(config=config, tools=[add_number]) as agent:
        await agent.run("warm up")
        prompts = iter(f"task {i}" for i in range(count))

        async def worker() -> None:
            for prompt in prompts:
                result = await agent.run(prompt)
                assert result.turns == TURNS, result.stop_reason

        started = time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return (time.process_time() - started) / (count * TURNS)


def cpu_part(args: argparse.Namespace) -> None:
    """Part 3: the runner's CPU per request over `Agent.run`'s, medians of `--reps` rounds."""
    stream = not args.no_stream
    runner: list[float] = []
    agent: list[float] = []
    with FakeServer(0.001) as base_url:
        asyncio.run(runner_cpu(base_url, 8, 4, stream))  # warm-up: imports, first connection
        for rep in range(args.reps):
            order = [runner_cpu, agent_cpu] if rep % 2 == 0 else [agent_cpu, runner_cpu]
            for fn in order:
                gc.collect()
                value = asyncio.run(fn(base_url, args.tasks, args.concurrency, stream))
                (runner if fn is runner_cpu else agent).append(value)
        if args.cpu_profile:
            profile_runner(base_url, args.tasks, args.concurrency, stream)
        if args.cpu_breakdown:
            breakdown(base_url, args.tasks, args.concurrency, stream, args.reps)
    r, a = statistics.median(runner), statistics.median(agent)
    print(
        f"cpu: {args.tasks} tasks x {TURNS} turns, concurrency {args.concurrency}, "
        f"stream={stream}, {args.reps} rounds: client CPU per request, median: "
        f"run_eval {r * 1000:.2f} ms, Agent.run {a * 1000:.2f} ms; ratio {r / a:.2f}x "
        f"[runner {', '.join(f'{v * 1000:.2f}' for v in runner)}; "
        f"agent {', '.join(f'{v * 1000:.2f}' for v in agent)}; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs]"
    )


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of another process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_with_workers() -> float:
    total = time.process_time()
    for child in multiprocessing.active_children():
        with contextlib.suppress(OSError):
            total += _proc_cpu(child.pid)  # type: ignore[arg-type]
    return total


async def workers_run(
    base_url: str, count: int, concurrency: int, stream: bool, workers: int
) -> tuple[float, float]:
    """(requests per second, CPU seconds per request) of `run_eval` with `workers`, from the
    first finished trial to the last."""
    marks: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tasks = load_tasks(write_tasks(Path(tmp) / "bench.jsonl", count))
        config = AgentConfig(base_url=base_url, stream=stream, model="fake-model.gguf")
        await run_eval(
            tasks,
            [config],
            EvalOptions(out_dir=Path(tmp) / "out", concurrency=concurrency, workers=workers),
            provider=FixedTools([add_number]),
            on_trial=lambda trial: marks.append((time.perf_counter(), _cpu_with_workers())),
        )
    requests = (len(marks) - 1) * TURNS
    wall, cpu = marks[-1][0] - marks[0][0], marks[-1][1] - marks[0][1]
    return requests / wall, cpu / requests


def workers_part(args: argparse.Namespace) -> None:
    """Part 4: requests/s and CPU per request with `workers=1` and `workers=N`."""
    stream = not args.no_stream
    variants = (1, args.workers)
    rates: dict[int, list[float]] = {w: [] for w in variants}
    cpus: dict[int, list[float]] = {w: [] for w in variants}
    with FakeServer(0.001) as base_url:
        asyncio.run(runner_cpu(base_url, 8, 4, stream))  # warm-up
        for rep in range(args.reps):
            for workers in variants if rep % 2 == 0 else variants[::-1]:
                gc.collect()
                rate, cpu = asyncio.run(
                    workers_run(base_url, args.tasks, args.concurrency, stream, workers)
                )
                rates[workers].append(rate)
                cpus[workers].append(cpu)
    one, many = (statistics.median(rates[w]) for w in variants)
    cpu_one, cpu_many = (statistics.median(cpus[w]) for w in variants)
    print(
        f"workers: {args.tasks} tasks x {TURNS} turns, concurrency {args.concurrency}, "
        f"stream={stream}, 1 ms per reply, {args.reps} rounds, medians:\n"
        f"  workers=1: {one:.0f} requests/s, {cpu_one * 1000:.2f} ms CPU per request\n"
        f"  workers={args.workers}: {many:.0f} requests/s, {cpu_many * 1000:.2f} ms CPU per "
        f"request (this process and the workers)\n"
        f"  requests/s ratio {many / one:.2f}x, CPU per request ratio {cpu_many / cpu_one:.2f}x "
        f"[requests/s: 1: {', '.join(f'{v:.0f}' for v in rates[1])}; "
        f"{args.workers}: {', '.join(f'{v:.0f}' for v in rates[args.workers])}; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs]"
    )


def _patched(name: str) -> contextlib.AbstractContextManager[None]:
    """Switch off one piece of the trial's bookkeeping (diagnosis only, never shipped)."""
    from agentloop.eval import trial as trial_module
    from agentloop.eval.results import ResultsWriter

    stack = contextlib.ExitStack()
    patch = stack.enter_context(_Patcher())
    real_run = trial_module.TrialRunner._agent_run

    async def no_wire(self: Any, task: Any, server: Any, toolset: Any, wire: Any) -> Any:
        return await real_run(self, task, server, toolset, None)

    if name in ("no wire log", "none of these"):
        patch(trial_module.TrialRunner, "_agent_run", no_wire)
    if name in ("no messages file", "none of these"):
        patch(trial_module, "write_conversation", lambda *a: None)
    if name in ("no results line", "none of these"):
        patch(ResultsWriter, "write", lambda self, trial: None)
    return stack


class _Patcher(contextlib.AbstractContextManager["_Patcher"]):
    def __init__(self) -> None:
        self.undo: list[tuple[Any, str, Any]] = []

    def __call__(self, owner: Any, attribute: str, value: Any) -> None:
        self.undo.append((owner, attribute, getattr(owner, attribute)))
        setattr(owner, attribute, value)

    def __exit__(self, *exc: object) -> None:
        for owner, attribute, value in reversed(self.undo):
            setattr(owner, attribute, value)


BREAKDOWN = ("full", "no wire log", "no messages file", "no results line", "none of these")


def breakdown(base_url: str, count: int, concurrency: int, stream: bool, reps: int) -> None:
    """The runner's CPU per request with one piece of bookkeeping switched off at a time."""
    values: dict[str, list[float]] = {name: [] for name in BREAKDOWN}
    for _ in range(reps):
        for name in BREAKDOWN:
            gc.collect()
            with _patched(name):
                values[name].append(asyncio.run(runner_cpu(base_url, count, concurrency, stream)))
    full = statistics.median(values["full"])
    for name in BREAKDOWN:
        median = statistics.median(values[name])
        print(f"  {name:<22} {median * 1000:6.2f} ms/request  ({(median - full) * 1000:+.2f} ms)")


def profile_runner(base_url: str, count: int, concurrency: int, stream: bool) -> None:
    """cProfile one runner round; print own time by package and the top functions."""
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(runner_cpu(base_url, count, concurrency, stream))
    profiler.disable()
    stats = pstats.Stats(profiler)
    by_package: dict[str, float] = {}
    rows = stats.stats  # type: ignore[attr-defined]
    for (file, _, _), (_, _, own, _, _) in rows.items():
        key = _package(file)
        by_package[key] = by_package.get(key, 0.0) + own
    total = sum(by_package.values())
    for key, own in sorted(by_package.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {key:<40} {own / total:6.1%}")
    stats.sort_stats("cumulative").print_stats(r"agentloop|tools", 30)


def _package(file: str) -> str:
    for marker in ("/agentloop/", "/tools/", "/site-packages/"):
        if marker in file:
            rest = file.split(marker, 1)[1]
            head = rest.split("/", 1)[0] if marker == "/site-packages/" else rest
            return (marker.strip("/") + ":" if marker != "/site-packages/" else "") + head
    return "stdlib/builtins" if file.startswith(("<", "~")) or "python3" in file else file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--memory-tasks", type=int, default=1000)
    parser.add_argument("--memory-latency", type=float, default=0.05)
    parser.add_argument("--no-stream", action="store_true", help="non-streamed replies")
    parser.add_argument("--cpu", action="store_true", help="only part 3: runner vs Agent.run CPU")
    parser.add_argument("--reps", type=int, default=5, help="part 3: alternating rounds")
    parser.add_argument("--cpu-profile", action="store_true", help="part 3: cProfile the runner")
    parser.add_argument(
        "--cpu-breakdown", action="store_true", help="part 3: the runner with pieces switched off"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="with --cpu: part 4, workers=1 against this"
    )
    args = parser.parse_args(argv)
    stream = not args.no_stream
    if args.cpu and args.workers > 1:
        workers_part(args)
        return 0
    if args.cpu:
        cpu_part(args)
        return 0

    clock, total = asyncio.run(one_run(args.tasks, args.latency, args.concurrency, stream, 10))
    achieved = clock.end - clock.start
    per_task = args.latency * TURNS / args.concurrency
    rounds = math.ceil(args.tasks / args.concurrency) * args.latency * TURNS
    print(
        f"throughput: {args.tasks} tasks x {TURNS} turns, {args.latency * 1000:.0f} ms per reply, "
        f"concurrency {args.concurrency}, stream={stream}: trials took {achieved:.2f} s "
        f"({args.tasks / achieved:.1f} tasks/s)\n"
        f"  vs the issue's ideal ({args.tasks * per_task:.3f} s): throughput / ideal = "
        f"{args.tasks * per_task / achieved:.3f}\n"
        f"  vs the schedulable ideal ({rounds:.2f} s): throughput / ideal = "
        f"{rounds / achieved:.3f}\n"
        f"  [{clock.passed}/{clock.done} passed; {total:.2f} s with setup and report; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs]"
    )

    n = args.memory_tasks
    clock, total = asyncio.run(
        one_run(n, args.memory_latency, args.concurrency, stream, max(1, n // 10))
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    during = max(mib for _, mib in clock.samples)
    series = ", ".join(f"{done}: {mib:.1f}" for done, mib in clock.samples)
    first, last = clock.samples[0][1], clock.samples[-1][1]
    print(
        f"memory: {n} tasks ({clock.passed}/{clock.done} passed, {total:.1f} s); RSS MiB after "
        f"N trials -> {series}; growth from first to last sample {last - first:+.1f} MiB; "
        f"peak RSS while trials ran {during:.1f} MiB; peak RSS of the process {peak:.1f} MiB "
        "(includes writing summary and report, which read every result and transcript)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
