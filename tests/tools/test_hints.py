"""A failed call that used another tool as a function or program says what to send."""

from __future__ import annotations

from tools import ToolContext, ToolError, ToolRefused, ToolRegistry, tool
from tools._hints import other_tool_hint


def add_number(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


def python(code: str) -> str:
    """Run code (here: fail as an interpreter does on an unknown name)."""
    name = code.split("(")[0]
    raise ToolError(f"Traceback (most recent call last):\nNameError: name '{name}' is not defined")


def terminal(command: str) -> str:
    """Run a command (here: refuse it as the allowlist does)."""
    raise ToolRefused(f"Refused: `{command.split()[0]}` is not in the list of allowed programs.")


def registry() -> ToolRegistry:
    return ToolRegistry([tool(add_number), tool(python), tool(terminal)])


async def test_python_calling_another_tool_is_told_to_call_it_as_a_tool() -> None:
    outcome = await registry().call("python", {"code": "add_number(2, 3)"}, context=ToolContext())
    assert outcome.error == "tool_failed"
    assert outcome.content.startswith("Error: Traceback")
    assert outcome.content.endswith(
        "`add_number` is one of your tools, not a name python knows: call add_number as its "
        "own tool call with the values you already have, or do this step with python alone."
    )


async def test_terminal_running_another_tool_gets_the_hint_with_its_refusal() -> None:
    outcome = await registry().call(
        "terminal", {"command": "add_number 2 3"}, context=ToolContext()
    )
    assert outcome.error == "refused"
    assert "allowed programs." in outcome.content
    assert "call add_number as its own tool call" in outcome.content


async def test_names_that_are_not_tools_get_no_hint() -> None:
    outcome = await registry().call("python", {"code": "foo()"}, context=ToolContext())
    assert outcome.content.endswith("NameError: name 'foo' is not defined")
    names = {"python", "add_number"}
    assert other_tool_hint("python", "NameError: name 'python' is not defined", names) == ""
    assert other_tool_hint("python", "add_number failed", names) == ""
