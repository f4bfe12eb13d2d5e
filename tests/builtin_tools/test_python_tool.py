"""The python tool: REPL semantics, per-run state, crashes confined to one call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from sandbox import Sandbox, SandboxUnavailable
from tools import ToolContext, ToolRegistry
from tools.builtin import PythonPolicy, python_tool

pytestmark = pytest.mark.sandbox


@pytest.fixture
async def box() -> AsyncIterator[Sandbox]:
    box = Sandbox.temporary()
    try:
        await box.ensure_ready()
    except SandboxUnavailable as exc:
        await box.aclose()
        pytest.skip(f"no isolation here: {exc}")
    yield box
    await box.aclose()


@pytest.fixture
def registry(box: Sandbox) -> ToolRegistry:
    # No standby: it would be started in the test's event loop and killed in the
    # fixture's, whose teardown can then wait forever for its exit.
    return ToolRegistry([python_tool(box, PythonPolicy(timeout=3, standby=False))])


async def run(registry: ToolRegistry, context: ToolContext, code: str) -> tuple[bool, str]:
    outcome = await registry.call("python", {"code": code}, context=context)
    return outcome.ok, outcome.content


async def test_repl_value_and_state_persist_within_a_run(registry: ToolRegistry) -> None:
    context = ToolContext(run_id="a")
    assert await run(registry, context, "x = 40") == (True, "(no output)")
    assert await run(registry, context, "x + 2") == (True, "42")
    assert await run(registry, context, "print('hi'); x") == (True, "hi\nvalue: 40")
    fresh = ToolContext(run_id="b")
    ok, content = await run(registry, fresh, "x")
    assert not ok and "NameError" in content
    await context.aclose()
    await fresh.aclose()


async def test_calls_of_one_reply_run_in_order_on_one_interpreter(
    registry: ToolRegistry,
) -> None:
    # A reply's calls are dispatched at once; they once raced for the interpreter's
    # pipe ("readuntil() called while another coroutine is already waiting").
    context = ToolContext(run_id="p")
    codes = ["import time; time.sleep(0.2); n = 1", "n += 1; n", "n * 10", "print(n)"]
    results = await asyncio.gather(*(run(registry, context, code) for code in codes))
    assert results == [(True, "(no output)"), (True, "2"), (True, "20"), (True, "2")]
    assert await run(registry, context, "n") == (True, "2")
    await context.aclose()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import os; os._exit(3)", "exited with status 3"),
        ("import ctypes; ctypes.string_at(0)", "SIGSEGV"),
    ],
)
async def test_crash_ends_only_that_call(registry: ToolRegistry, code: str, expected: str) -> None:
    context = ToolContext(run_id="c")
    await run(registry, context, "y = 1")
    ok, content = await run(registry, context, code)
    assert not ok and expected in content and "variables" in content
    assert await run(registry, context, "2 + 2") == (True, "4")
    await context.aclose()


async def test_memory_error_is_readable_and_state_survives(registry: ToolRegistry) -> None:
    context = ToolContext(run_id="m")
    await run(registry, context, "keep = 'me'")
    ok, content = await run(registry, context, "b = bytearray(16 << 30)")
    assert not ok and "MemoryError" in content
    assert await run(registry, context, "keep") == (True, "'me'")
    await context.aclose()


async def test_timeout_says_so_and_next_call_works(registry: ToolRegistry) -> None:
    context = ToolContext(run_id="t")
    started = time.monotonic()
    ok, content = await run(registry, context, "while True: pass")
    assert not ok and "Timed out" in content
    assert time.monotonic() - started < 8
    assert await run(registry, context, "'back'") == (True, "'back'")
    await context.aclose()


async def test_output_is_bounded_and_sanitised(registry: ToolRegistry) -> None:
    context = ToolContext(run_id="o")
    ok, content = await run(registry, context, "print('\\x1b[2J' + 'x' * 10_000_000)")
    assert ok and "\x1b" not in content and len(content) < 100_000
    await context.aclose()


async def test_closing_the_run_stops_the_worker(registry: ToolRegistry) -> None:
    context = ToolContext(run_id="z")
    ok, _ = await run(registry, context, "import os; os.getpid()")
    assert ok and context.state
    await context.aclose()
    assert context.state == {}


async def test_a_forged_reply_frame_is_never_taken_as_a_result(registry: ToolRegistry) -> None:
    context = ToolContext(run_id="forge")
    forge = (
        "import os, stat\n"
        "frame = b'R 0 6 -1 -1 -1\\nFORGED'\n"
        "for fd in range(3, 64):\n"
        "    try:\n"
        "        if stat.S_ISFIFO(os.fstat(fd).st_mode):\n"
        "            os.write(fd, frame)\n"
        "    except OSError:\n"
        "        pass\n"
    )
    first = await run(registry, context, forge)
    second = await run(registry, context, "1 + 1")
    assert "FORGED" not in first[1] and "FORGED" not in second[1]
    assert second[1] in ("2", "") or not second[0]
    third = await run(registry, context, "40 + 2")
    assert third == (True, "42")
    await context.aclose()


@pytest.mark.parametrize("cgroups", [True, False], ids=["freezer", "sigstop"])
async def test_threads_and_children_do_not_run_between_calls(cgroups: bool) -> None:
    async with Sandbox.temporary(cgroups=cgroups) as box:
        try:
            await box.ensure_ready()
        except SandboxUnavailable as exc:
            pytest.skip(f"no isolation here: {exc}")
        registry = ToolRegistry([python_tool(box, PythonPolicy(timeout=5))])
        context = ToolContext(run_id="frozen")
        code = (
            "import os, threading, time\n"
            "def tick(name):\n"
            "    while True:\n"
            "        with open(name, 'a') as f: f.write('x')\n"
            "        time.sleep(0.01)\n"
            "threading.Thread(target=tick, args=('thread',), daemon=True).start()\n"
            "if os.fork() == 0:\n    tick('child')\n"
            "time.sleep(0.2)\n"
        )
        assert (await run(registry, context, code))[0]
        worker = context.state["tools.builtin.python.worker"]
        if not worker._process.can_freeze:
            await context.aclose()
            pytest.skip(f"nothing can stop the tree here: {box.enforcement}")
        ticks = [box.workspace / "thread", box.workspace / "child"]
        time.sleep(0.05)  # the kernel completes a cgroup freeze on its own, within moments
        sizes = [path.stat().st_size for path in ticks]
        time.sleep(0.5)
        assert [path.stat().st_size for path in ticks] == sizes  # stopped between calls
        assert (await run(registry, context, "import time; time.sleep(0.2)"))[0]
        assert all(p.stat().st_size > n for p, n in zip(ticks, sizes, strict=True))
        await context.aclose()


async def test_code_calling_a_tool_by_name_is_told_it_is_a_tool(box: Sandbox) -> None:
    """The 1.5B wrote `print(add_number(2 ** 20, 1000))` for "use python, then add_number"."""
    from tools.builtin import math_tools

    tools = [python_tool(box, PythonPolicy(timeout=3, standby=False)), *math_tools()]
    context = ToolContext(run_id="h")
    async with ToolRegistry(tools) as registry:
        ok, content = await run(registry, context, "print(add_number(2 ** 20, 1000))")
    await context.aclose()
    assert not ok and "NameError: name 'add_number' is not defined" in content
    assert "call add_number as its own tool call" in content
