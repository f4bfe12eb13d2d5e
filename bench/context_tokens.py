"""Tokens sent per turn over a 50-turn scripted tool loop, with and without compaction, and
the client-side cost of fitting a request (counting + compaction) against a baseline.

The conversation: a system prompt, one user task, then 50 assistant turns, each one tool
call whose output is 300 to 6,000 characters (fixed pseudo-random sizes, seed 7). Each turn
the whole conversation so far goes through `ContextManager.prepare` for a window of
`--window` tokens (default 8,192, the embedded llama-server's); summaries come from a
stand-in that returns 600 characters at once (no model in the loop: this measures the
client). Tokens are the manager's estimate with its ratio fixed at 3.6 characters per
token (a typical ratio for English prose and code), so the figures do not depend on a
tokenizer.

Printed: tokens sent at turns 1, 10, ..., 50 with and without compaction; how many turns
would overflow the window without it; compactions; the "stable prefix" share: of all
tokens sent, those in messages identical to the previous request's leading messages
(what llama-server's prompt cache can reuse); and the median CPU time of one `prepare`
against the median time of `json.dumps` of the same request body (which every request
pays anyway), both measured in this run, interleaved.

Usage:
    .venv/bin/python bench/context_tokens.py [--window 8192] [--turns 50] [--reps 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from typing import Any

from agentloop.context import (
    ContextManager,
    ContextPolicy,
    ContextWindow,
    EstimateCounter,
    SummaryRequest,
)

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "terminal",
            "description": "Run a shell command in the workspace and return its output.",
            "parameters": {
                "type": "object",
                "properties": {"command": {"type": "string", "description": "The command."}},
                "required": ["command"],
            },
        },
    }
]
CHARS_PER_TOKEN = 3.6
WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "config",
    "value",
    "error",
    "line",
    "file",
    "path",
    "42",
    "0x1f",
]


def script(turns: int) -> list[list[dict[str, Any]]]:
    """The messages each turn adds: an assistant call and its result."""
    rng = random.Random(7)
    added = []
    for t in range(turns):
        size = rng.randint(300, 6000)
        text = " ".join(rng.choice(WORDS) for _ in range(size // 5))[:size]
        call = {
            "id": f"call_{t}",
            "type": "function",
            "function": {"name": "terminal", "arguments": json.dumps({"command": f"cat f{t}"})},
        }
        added.append(
            [
                {"role": "assistant", "content": "", "tool_calls": [call]},
                {"role": "tool", "tool_call_id": f"call_{t}", "content": text},
            ]
        )
    return added


async def summarise(request: SummaryRequest) -> str:
    return "Earlier files were read; nothing relevant found yet. " * 11


def manager(window: int, policy: ContextPolicy) -> ContextManager:
    return ContextManager(
        ContextWindow(window),
        policy,
        summarise=summarise,
        estimator=EstimateCounter(CHARS_PER_TOKEN),
    )


def stable_tokens(
    previous: list[dict[str, Any]], sent: list[dict[str, Any]], est: EstimateCounter
) -> int:
    """Tokens of `sent`'s leading messages that are identical to `previous`'s."""
    total = 0
    for old, new in zip(previous, sent, strict=False):
        if old != new:
            break
        total += est.message_tokens(new)
    return total


async def run(window: int, turns: int, policy: ContextPolicy) -> dict[str, Any]:
    ctx = manager(window, policy)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a careful assistant with a terminal."},
        {"role": "user", "content": "Read the files f0 to f49 and tell me which mention 0x2a."},
    ]
    sent_tokens, stable, previous, compactions, over = [], 0, [], 0, 0
    for added in script(turns):
        messages += added
        prepared = await ctx.prepare(messages, TOOLS)
        sent_tokens.append(prepared.prompt_tokens)
        if prepared.compaction is not None and prepared.compaction.steps != ("cap_tool_results",):
            compactions += 1
        if prepared.prompt_tokens + 64 > window:
            over += 1
        stable += stable_tokens(previous, prepared.messages, ctx.estimator)
        previous = prepared.messages
    return {
        "tokens": sent_tokens,
        "compactions": compactions,
        "over": over,
        "stable": stable / max(1, sum(sent_tokens)),
    }


def cost(window: int, turns: int, reps: int) -> tuple[float, float, float]:
    """Median microseconds of one prepare at the last turn (appending to the previous
    request), of one prepare that compacts all turns at once (a fresh manager), and of
    json.dumps of the request body."""
    conversation: list[dict[str, Any]] = [{"role": "user", "content": "Read the files."}]
    for added in script(turns):
        conversation += added
    prepare_us, cold_us, dumps_us = [], [], []
    loop = asyncio.new_event_loop()
    for _ in range(reps):
        ctx = manager(window, ContextPolicy())
        # warm the manager with all but the last turn, then time the last prepare
        loop.run_until_complete(ctx.prepare(conversation[:-2], TOOLS))
        start = time.process_time_ns()
        prepared = loop.run_until_complete(ctx.prepare(conversation, TOOLS))
        prepare_us.append((time.process_time_ns() - start) / 1000)
        fresh = manager(window, ContextPolicy())
        start = time.process_time_ns()
        loop.run_until_complete(fresh.prepare(conversation, TOOLS))
        cold_us.append((time.process_time_ns() - start) / 1000)
        body = {"model": "m", "messages": prepared.messages, "tools": TOOLS, "stream": True}
        start = time.process_time_ns()
        json.dumps(body)
        dumps_us.append((time.process_time_ns() - start) / 1000)
    loop.close()
    return (
        statistics.median(prepare_us),
        statistics.median(cold_us),
        statistics.median(dumps_us),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--window", type=int, default=8192)
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args()
    on = asyncio.run(run(args.window, args.turns, ContextPolicy()))
    off = asyncio.run(run(args.window, args.turns, ContextPolicy.off()))
    print(f"window {args.window} tokens, {args.turns} turns")
    print("turn | sent, compaction on | sent, off")
    for t in [1, *range(10, args.turns + 1, 10)]:
        print(f"{t:4} | {on['tokens'][t - 1]:19,} | {off['tokens'][t - 1]:9,}")
    print(f"total tokens sent: on {sum(on['tokens']):,}, off {sum(off['tokens']):,}")
    print(f"turns over the window: on {on['over']}, off {off['over']}")
    print(f"compactions (beyond capping new results): {on['compactions']}")
    print(f"stable-prefix share of tokens sent: on {on['stable']:.2f}, off {off['stable']:.2f}")
    prepare_us, cold_us, dumps_us = cost(args.window, args.turns, args.reps)
    print(f"CPU per call, median of {args.reps}, turn {args.turns}:")
    print(f"  prepare, appending to the last request: {prepare_us:.0f} us")
    print(f"  prepare, compacting all {args.turns} turns at once: {cold_us:.0f} us")
    print(f"  json.dumps of the request body (baseline): {dumps_us:.0f} us")
    print(f"  ratios to the baseline: {prepare_us / dumps_us:.2f}x, {cold_us / dumps_us:.2f}x")


if __name__ == "__main__":
    main()
