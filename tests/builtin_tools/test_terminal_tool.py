"""The terminal tool end to end: refusals never reach the sandbox; accepted commands run."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sandbox import Sandbox, SandboxUnavailable
from tools import ToolContext, ToolRegistry
from tools.builtin import CommandPolicy, terminal_tool

pytestmark = pytest.mark.sandbox


@pytest.fixture
async def box() -> AsyncIterator[Sandbox]:
    sandbox = Sandbox.temporary()
    try:
        await sandbox.ensure_ready()
    except SandboxUnavailable as exc:
        await sandbox.aclose()
        pytest.skip(f"no isolation here: {exc}")
    yield sandbox
    await sandbox.aclose()


async def call(box: Sandbox, command: str, policy: CommandPolicy | None = None) -> tuple[bool, str]:
    registry = ToolRegistry([terminal_tool(box, policy)])
    outcome = await registry.call("terminal", {"command": command}, context=ToolContext())
    return outcome.ok, outcome.content


async def test_ordinary_commands_run_in_the_workspace(box: Sandbox) -> None:
    (box.workspace / "notes.txt").write_text("street address\nphone\n")
    ok, content = await call(box, "grep address notes.txt && echo format > out.txt; pwd")
    assert ok and "exit code: 0" in content and "street address" in content
    assert (box.workspace / "out.txt").read_text() == "format\n"
    ok, content = await call(box, "ls *.txt | sort")
    assert "notes.txt\nout.txt" in content


async def test_refusal_never_reaches_the_sandbox(box: Sandbox) -> None:
    (box.workspace / "keep.txt").write_text("x")
    registry = ToolRegistry([terminal_tool(box, CommandPolicy())])
    outcome = await registry.call("terminal", {"command": "rm keep.txt"}, context=ToolContext())
    content = outcome.content
    assert outcome.error == "refused" and "Refused" in content and "deleting files" in content
    assert (box.workspace / "keep.txt").exists()


async def test_non_zero_exit_is_reported_not_raised(box: Sandbox) -> None:
    ok, content = await call(box, "ls no-such-file")
    assert ok and "exit code: 2" in content and "No such file" in content


async def test_timeout_says_so(box: Sandbox) -> None:
    ok, content = await call(box, "sleep 30", CommandPolicy(timeout=1))
    assert ok and "timed out" in content


async def test_git_works_inside(box: Sandbox) -> None:
    ok, content = await call(box, "git init -q . && git add . && git status --short")
    assert ok and "exit code: 0" in content, content


async def test_running_another_tool_as_a_program_is_told_it_is_a_tool(box: Sandbox) -> None:
    """The refusal's own wording is what the other-tool hint recognises."""
    from tools.builtin import math_tools

    registry = ToolRegistry([terminal_tool(box, CommandPolicy()), *math_tools()])
    outcome = await registry.call("terminal", {"command": "add_number 2 3"}, context=ToolContext())
    assert outcome.error == "refused" and "was not run" in outcome.content
    assert "call add_number as its own tool call" in outcome.content
