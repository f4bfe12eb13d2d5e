"""Client-side cost per turn of agentloop's loop against a bare hand-written AsyncOpenAI loop.

Both drive the same conversation (a system prompt, a user question, three tool rounds with
growing history, then a final answer) against `FakeOpenAIServer` running in a separate
process on 127.0.0.1, so the server's own work never lands on the client's clock. Variants
are interleaved (their order alternates every repetition) and measured in the same run.

The figure is the client process's CPU time (`time.process_time`, all its threads) per
model request; wall time per request is printed too. See bench/README.md.

Usage:
    .venv/bin/python bench/loop_overhead.py [--reps 200] [--warmup 20] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import itertools
import json
import logging
import multiprocessing
import pstats
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import structlog

from agentloop.testing import FakeOpenAIServer, FakeReply
from tools import ToolRegistry, tool

MODEL = "bench-model.gguf"
TOOL_ROUNDS = 3
SYSTEM = (
    "You are a careful support assistant for an online shop. Use the tools to look up "
    "orders and documentation, do arithmetic with add_number, and answer in one short "
    "paragraph. " * 6
)
PROMPT = "Order A-1042 arrived damaged. What refund is the customer owed, including shipping?"
FINAL_ANSWER = (
    "Order A-1042 qualifies for a full refund under the damaged-goods policy: the item "
    "price of 84.50 plus 12.40 shipping, 96.90 in total, returned to the original card "
    "within five business days."
)


def add_number(a: float, b: float) -> float:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


def lookup_order(order_id: str) -> str:
    """Look up an order by its id.

    Args:
        order_id: The order id, e.g. "A-1042".
    """
    items = [{"sku": f"SKU-{i:04d}", "name": f"Ceramic mug model {i}", "qty": 1} for i in range(6)]
    return json.dumps(
        {"id": order_id, "status": "delivered", "price": 84.5, "shipping": 12.4, "items": items}
    )


def search_docs(query: str, limit: int = 3) -> str:
    """Search the shop's policy documents.

    Args:
        query: What to look for.
        limit: How many passages to return.
    """
    passage = (
        "Damaged goods: customers who report damage within 30 days receive a full refund of "
        "the item price and the original shipping cost, paid to the original payment method. "
    )
    return "\n\n".join(f"[{i + 1}] {query}: {passage * 2}" for i in range(limit))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    f.__name__: f for f in (add_number, lookup_order, search_docs)
}
ROUND_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("lookup_order", {"order_id": "A-1042"}),
    ("search_docs", {"query": "refund for damaged goods", "limit": 3}),
    ("add_number", {"a": 84.5, "b": 12.4}),
]


def scripted_reply(body: dict[str, Any]) -> FakeReply:
    """The fake model: one call per round (replies since the last user message), then text."""
    roles = [m.get("role") for m in body["messages"]]
    done = roles[len(roles) - roles[::-1].index("user") :].count("assistant")
    if done < TOOL_ROUNDS:
        return FakeReply(tool_calls=[ROUND_CALLS[done]])
    return FakeReply(FINAL_ANSWER)


def serve(conn: Connection, latency: float) -> None:
    """Child process: run the fake server until the parent says stop."""
    with FakeOpenAIServer([scripted_reply], latency=latency, model=MODEL) as srv:
        conn.send(srv.base_url)
        conn.recv()


PRIOR: list[dict[str, Any]] = []  # earlier exchanges (--prior); set once in main, then read-only


def earlier_exchanges(count: int) -> list[dict[str, Any]]:
    """`count` earlier question/answer pairs of about 1 KB each, to lengthen the history."""
    answer = "Here is what the policy says about that case, step by step. " * 16
    pairs = (
        [
            {"role": "user", "content": f"Earlier question {i}?"},
            {"role": "assistant", "content": answer},
        ]
        for i in range(count)
    )
    return [m for pair in pairs for m in pair]


def first_messages() -> list[dict[str, Any]]:
    return [{"role": "system", "content": SYSTEM}, *PRIOR, {"role": "user", "content": PROMPT}]


# ---- (b) the bare loop: what a user writes by hand with the openai SDK ----------------------


async def bare_turn(client: Any, messages: list[dict[str, Any]], schemas: Any) -> dict[str, Any]:
    response = await client.chat.completions.create(
        model=MODEL, messages=messages, tools=schemas, temperature=0.7
    )
    message = response.choices[0].message
    reply: dict[str, Any] = {"role": "assistant", "content": message.content or ""}
    if message.tool_calls:
        reply["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.function.name, "arguments": c.function.arguments},
            }
            for c in message.tool_calls
        ]
    return reply


async def bare_stream_turn(
    client: Any, messages: list[dict[str, Any]], schemas: Any
) -> dict[str, Any]:
    stream = await client.chat.completions.create(
        model=MODEL,
        messages=messages,
        tools=schemas,
        temperature=0.7,
        stream=True,
        stream_options={"include_usage": True},
    )
    content: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    async for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        if delta.content:
            content.append(delta.content)
        for part in delta.tool_calls or ():
            slot = calls.setdefault(part.index, {"id": "", "name": "", "arguments": []})
            slot["id"] = part.id or slot["id"]
            if part.function is not None:
                slot["name"] = part.function.name or slot["name"]
                slot["arguments"].append(part.function.arguments or "")
    reply: dict[str, Any] = {"role": "assistant", "content": "".join(content)}
    if calls:
        reply["tool_calls"] = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": "".join(c["arguments"])},
            }
            for _, c in sorted(calls.items())
        ]
    return reply


async def bare_loop(client: Any, schemas: Any, stream: bool) -> tuple[str, int]:
    """Send, run the calls, append, repeat until a reply has no calls; (answer, requests)."""
    messages = first_messages()
    turn = bare_stream_turn if stream else bare_turn
    for requests in range(1, 50):
        reply = await turn(client, messages, schemas)
        messages.append(reply)
        if "tool_calls" not in reply:
            return reply["content"], requests
        for call in reply["tool_calls"]:
            function = FUNCTIONS[call["function"]["name"]]
            result = function(**json.loads(call["function"]["arguments"] or "{}"))
            content = result if isinstance(result, str) else json.dumps(result)
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": content})
    raise RuntimeError("the bare loop did not finish")


# ---- measurement ------------------------------------------------------------------------------


@dataclass
class Samples:
    cpu: list[float]
    wall: list[float]


Runner = Callable[[], Awaitable[tuple[str, int]]]


async def measure(runner: Runner, samples: Samples) -> None:
    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    answer, requests = await runner()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    if answer != FINAL_ANSWER or requests != TOOL_ROUNDS + 1:
        raise RuntimeError(f"wrong conversation: {requests} requests, answer {answer[:60]!r}")
    samples.cpu.append(cpu / requests)
    samples.wall.append(wall / requests)


def traced_runner(agent: Any) -> Runner:
    """`agent.run` with an OpenTelemetry `RunTracer` as `on_event`, spans to a null exporter."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    from agentloop.telemetry import TelemetryConfig
    from agentloop.telemetry.spans import RunTracer, TraceSettings
    from agentloop.telemetry.tracing import Tracing

    class Discard(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracing = Tracing(TelemetryConfig(), exporter=Discard())
    settings = TraceSettings(provider="llama.cpp", model=MODEL)

    async def run_traced() -> tuple[str, int]:
        tracer = RunTracer(tracing.tracer, settings)
        result = await agent.run(messages=first_messages(), on_event=tracer)
        return result.output, result.turns

    return run_traced


def build_runners(
    base_url: str, stack: Any, oneshot: bool = False, otel: bool = False
) -> dict[str, Runner]:
    """The variants. Clients and agents are made once and reused, as a service would; with
    `oneshot`, also `arun_agent` against a bare loop that makes its own client per run."""
    from openai import AsyncOpenAI

    from agentloop import Agent, AgentConfig, arun_agent

    registry = ToolRegistry([tool(f) for f in FUNCTIONS.values()])
    schemas = registry.definitions()
    client = AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)
    stack.append(client)
    runners: dict[str, Runner] = {}
    for stream in (False, True):
        mode = "stream" if stream else "json"

        async def run_bare(stream: bool = stream) -> tuple[str, int]:
            return await bare_loop(client, schemas, stream)

        runners[f"bare/{mode}"] = run_bare
        config = AgentConfig(base_url=base_url, model=MODEL, stream=stream, max_turns=10)
        agent = Agent(config=config, tools=registry)
        stack.append(agent)

        async def run_agent(agent: Any = agent) -> tuple[str, int]:
            result = await agent.run(messages=first_messages())
            return result.output, result.turns

        runners[f"agentloop/{mode}"] = run_agent
        if otel:
            runners[f"agentloop+otel/{mode}"] = traced_runner(agent)
        if not oneshot:
            continue

        async def run_bare_oneshot(stream: bool = stream) -> tuple[str, int]:
            async with AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0) as c:
                return await bare_loop(c, schemas, stream)

        async def run_arun_agent(stream: bool = stream) -> tuple[str, int]:
            result = await arun_agent(
                messages=first_messages(),
                tools=registry,
                base_url=base_url,
                model=MODEL,
                stream=stream,
                max_turns=10,
            )
            return result.output, result.turns

        runners[f"bare-1shot/{mode}"] = run_bare_oneshot
        runners[f"arun_agent/{mode}"] = run_arun_agent
    return runners


async def bench(
    base_url: str, reps: int, warmup: int, oneshot: bool, otel: bool = False
) -> dict[str, Samples]:
    stack: list[Any] = []
    runners = build_runners(base_url, stack, oneshot, otel)
    for agent in stack[1:]:
        await agent.__aenter__()
    try:
        results = {name: Samples([], []) for name in runners}
        names = list(runners)
        for rep in range(warmup + reps):
            order = names if rep % 2 == 0 else names[::-1]
            for name in order:
                target = results[name] if rep >= warmup else Samples([], [])
                await measure(runners[name], target)
        return results
    finally:
        for agent in stack[1:]:
            await agent.__aexit__(None, None, None)
        await stack[0].close()


def report(results: dict[str, Samples], reps: int) -> None:
    def ms(values: list[float]) -> str:
        q = statistics.quantiles(values, n=4)
        return f"{statistics.median(values) * 1e3:7.3f} ms (IQR {q[0] * 1e3:.3f}-{q[2] * 1e3:.3f})"

    print(f"client time per model request, median of {reps} conversations per variant")
    print(f"({TOOL_ROUNDS + 1} requests each; CPU = time.process_time of the client process)")
    for name, samples in results.items():
        print(f"  {name:17s} cpu {ms(samples.cpu)}   wall {ms(samples.wall)}")
    pairs = [("agentloop", "bare"), ("arun_agent", "bare-1shot"), ("agentloop+otel", "agentloop")]
    for (ours_name, bare_name), mode in itertools.product(pairs, ("json", "stream")):
        if f"{ours_name}/{mode}" not in results:
            continue
        ours, bare = results[f"{ours_name}/{mode}"], results[f"{bare_name}/{mode}"]
        cpu = statistics.median(ours.cpu) / statistics.median(bare.cpu)
        wall = statistics.median(ours.wall) / statistics.median(bare.wall)
        label = f"{ours_name}/{bare_name} ({mode})"
        print(f"  ratio {label:33s} cpu {cpu:.3f}x   wall {wall:.3f}x")


async def profile(base_url: str, variant: str, runs: int) -> None:
    stack: list[Any] = []
    runners = build_runners(base_url, stack, oneshot=True)
    for agent in stack[1:]:
        await agent.__aenter__()
    try:
        for _ in range(10):
            await runners[variant]()
        profiler = cProfile.Profile(time.process_time)  # CPU, not wall: other load is ignored
        profiler.enable()
        for _ in range(runs):
            await runners[variant]()
        profiler.disable()
    finally:
        for agent in stack[1:]:
            await agent.__aexit__(None, None, None)
        await stack[0].close()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(30)
    print_shares(stats)


def print_shares(stats: pstats.Stats) -> None:
    """Own CPU time (tottime) summed per package: where a variant's time goes."""
    groups = ("agentloop", "tools", "openai", "httpx2", "httpcore2", "h11", "anyio", "pydantic")
    totals: dict[str, float] = {}
    for (filename, _, _), row in stats.stats.items():  # type: ignore[attr-defined]
        parts = filename.replace("\\", "/").split("/")
        group = next((g for g in groups if g in parts), "other")
        if group == "other" and ("asyncio" in parts or filename.startswith("~")):
            group = "asyncio/builtins"
        totals[group] = totals.get(group, 0.0) + row[2]
    whole = sum(totals.values())
    for group, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {group:18s} {seconds / whole:6.1%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200, help="measured conversations per variant")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured conversations first")
    parser.add_argument("--latency", type=float, default=0.0, help="server delay per reply (s)")
    parser.add_argument("--prior", type=int, default=0, help="earlier exchanges in the history")
    parser.add_argument("--oneshot", action="store_true", help="also arun_agent vs a fresh client")
    parser.add_argument("--profile", metavar="VARIANT", help="cProfile one variant instead")
    parser.add_argument("--otel", action="store_true", help="also Agent.run traced (needs otel)")
    parser.add_argument("--log", action="store_true", help="keep structlog's default output")
    args = parser.parse_args(argv)
    PRIOR[:] = earlier_exchanges(args.prior)
    if not args.log:  # a service embedding agentloop configures logging; its default prints
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=serve, args=(child, args.latency), daemon=True)
    server.start()
    try:
        base_url = parent.recv()
        if args.profile:
            asyncio.run(profile(base_url, args.profile, args.reps))
        else:
            results = asyncio.run(bench(base_url, args.reps, args.warmup, args.oneshot, args.otel))
            print(f"history: {len(first_messages())} messages before the first request")
            report(results, args.reps)
    finally:
        parent.send("stop")
        server.join(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
