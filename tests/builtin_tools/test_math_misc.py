"""Math, story and date tools, called through a registry as the loop would."""

from __future__ import annotations

import datetime

import pytest

from tools import ToolContext, ToolError, ToolRegistry
from tools.builtin import date_tool, evaluate, math_tools, story_tool


@pytest.fixture
def registry() -> ToolRegistry:
    fixed = datetime.date(2025, 3, 14)
    return ToolRegistry([*math_tools(), story_tool(), date_tool(clock=lambda: fixed)])


async def call(registry: ToolRegistry, name: str, args: dict[str, object]) -> str:
    outcome = await registry.call(name, args, context=ToolContext())
    assert outcome.ok, outcome.content
    return outcome.content


async def test_tutorial_number_tools_accept_numeric_strings(registry: ToolRegistry) -> None:
    assert await call(registry, "add_number", {"a": "2", "b": 3}) == "5"
    assert await call(registry, "subtract_number", {"a": 10, "b": 2.5}) == "7.5"
    assert await call(registry, "multiply_number", {"a": "1.5", "b": "4"}) == "6"


@pytest.mark.parametrize(
    ("expression", "value"),
    [("1 + 2 * 3", 7), ("(3 + 4) * 2 / 7", 2), ("2 ** 10", 1024), ("-7 // 2", -4), ("7 % 3", 1)],
)
def test_calculate(expression: str, value: float) -> None:
    assert evaluate(expression) == value


@pytest.mark.parametrize(
    "expression",
    ["9**9**9", "10**10**10", "__import__('os').system('id')", "x + 1", "(1).real", "2^3",
     "1/0", "'a' * 10", "[1] * 10", "1" + "+1" * 500, "True + 1", "(-8) ** 0.5"],
)  # fmt: skip
def test_calculate_refuses_quickly(expression: str) -> None:
    with pytest.raises(ToolError):
        evaluate(expression)


async def test_calculate_error_reaches_the_model(registry: ToolRegistry) -> None:
    outcome = await registry.call("calculate", {"expression": "9**9**9"}, context=ToolContext())
    assert outcome.error == "tool_failed" and "too large" in outcome.content


async def test_story_and_date(registry: ToolRegistry) -> None:
    story = await call(registry, "write_a_story", {})
    assert len(story.split()) > 50
    assert "Ada" in await call(registry, "write_a_story", {"hero": "Ada"})
    assert (await call(registry, "current_date", {})).startswith("2025-03-14")


async def test_date_some_days_from_today(registry: ToolRegistry) -> None:
    """A date relative to today is one call: the answer first, today after it."""
    ahead = await call(registry, "current_date", {"days": "100"})
    assert ahead == "2025-06-22 (Sunday): 100 days after today, 2025-03-14 (Friday)"
    ago = await call(registry, "current_date", {"days": -7})
    assert ago == "2025-03-07 (Friday): 7 days before today, 2025-03-14 (Friday)"
    assert await call(registry, "current_date", {"days": 0}) == "2025-03-14 (Friday)"


async def test_date_out_of_range_says_what_to_send(registry: ToolRegistry) -> None:
    outcome = await registry.call("current_date", {"days": 10**9}, context=ToolContext())
    assert outcome.error == "tool_failed" and "use a smaller number" in outcome.content
