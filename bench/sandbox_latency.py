"""Latency of the python tool: cold and warm calls beside a bare interpreter spawn.

Run: ``.venv/bin/python bench/sandbox_latency.py [--runs 30]``. Targets (issue 3):
cold call <= 1.5x a bare ``python3 -c pass`` spawn measured in the same run; warm <= 5 ms.

- bare: ``asyncio.create_subprocess_exec("python3", "-c", "pass")`` to exit;
- cold: a call in a fresh run (new `ToolContext`): starts a sandboxed interpreter;
- warm: a further call in the same run (the interpreter is already up).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from sandbox import Sandbox
from tools import ToolContext, ToolRegistry
from tools.builtin import PythonPolicy, python_tool

CODE = "1 + 1"


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


async def _bare(runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec("/usr/bin/python3", "-c", "pass")
        await proc.wait()
        samples.append(time.perf_counter() - started)
    return samples


async def _calls(registry: ToolRegistry, runs: int, warm: bool, pause: float = 0.0) -> list[float]:
    samples = []
    context = ToolContext(run_id="warm")
    if warm:
        await registry.call("python", {"code": CODE}, context=context)
    for index in range(runs):
        if not warm:
            context = ToolContext(run_id=f"cold-{index}")
            await asyncio.sleep(pause)  # the model's turn: time for the standby to start
        started = time.perf_counter()
        outcome = await registry.call("python", {"code": CODE}, context=context)
        samples.append(time.perf_counter() - started)
        assert outcome.content == "2", outcome.content
        if not warm:
            await context.aclose()
    await context.aclose()
    return samples


async def main(runs: int) -> None:
    """Measure and print p50/p95 and the ratios to the targets."""
    async with Sandbox.temporary() as box:
        tier = await box.ensure_ready()
        no_standby = ToolRegistry([python_tool(box, PythonPolicy(standby=False))])
        registry = ToolRegistry([python_tool(box)])
        await _calls(no_standby, 3, warm=False)  # page in bwrap, python3 and the worker
        bare = _percentiles(await _bare(runs))
        cold = _percentiles(await _calls(no_standby, runs, warm=False))
        ready = _percentiles(await _calls(registry, runs, warm=False, pause=0.2))
        warm = _percentiles(await _calls(registry, runs * 10, warm=True))
    print(f"tier: {tier}, runs: {runs} (warm: {runs * 10})")
    rows = (
        ("bare python3 -c pass", bare),
        ("cold, interpreter start", cold),
        ("cold, standby ready", ready),
        ("warm call", warm),
    )
    for name, (p50, p95) in rows:
        print(f"{name:24s} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms")
    print(f"cold start / bare (p50): {cold[0] / bare[0]:.2f}x   (target <= 1.5x)")
    print(f"cold with standby / bare (p50): {ready[0] / bare[0]:.2f}x")
    print(f"warm p50: {warm[0]:.2f} ms   (target <= 5 ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    asyncio.run(main(parser.parse_args().runs))
