"""Item 4: @tool schemas, argument coercion, model-facing errors, concurrency, output caps."""

from __future__ import annotations

import asyncio
import time
from typing import Literal

import pytest

from tools import ToolContext, ToolError, ToolRegistry, tool


@tool
def greet(name: str, times: int = 1, style: Literal["plain", "loud"] = "plain") -> str:
    """Greet someone.

    Args:
        name: Who to greet.
        times: How many greetings,
            at most ten.
        style: How to greet.
    """
    text = " ".join([f"hello {name}"] * times)
    return text.upper() if style == "loud" else text


@tool
async def divide(a: float, b: float) -> float:
    """Divide a by b."""
    await asyncio.sleep(0)
    return a / b


@tool
def no_args() -> str:
    """Return a constant."""
    return "constant"


def call(registry: ToolRegistry, name: str, args: object) -> object:
    return asyncio.run(registry.call(name, args, context=ToolContext()))  # type: ignore[arg-type]


def test_schema_comes_from_hints_and_docstring() -> None:
    entry = greet.definition.to_openai()
    assert entry["type"] == "function"
    function = entry["function"]
    assert function["name"] == "greet"
    assert function["description"] == "Greet someone."
    params = function["parameters"]
    assert params["required"] == ["name"]
    assert params["properties"]["name"] == {"type": "string", "description": "Who to greet."}
    assert params["properties"]["times"]["description"] == "How many greetings, at most ten."
    assert params["properties"]["times"]["type"] == "integer"
    assert params["properties"]["style"]["enum"] == ["plain", "loud"]
    assert "title" not in params["properties"]["name"]


def test_decorated_function_is_still_callable() -> None:
    assert greet("bo") == "hello bo"


def test_tool_context_parameter_is_hidden_from_the_schema() -> None:
    @tool
    def remember(value: int, ctx: ToolContext) -> int:
        """Keep a value for the run."""
        ctx.state["last"] = value
        return value

    assert list(remember.definition.parameters["properties"]) == ["value"]
    registry, context = ToolRegistry([remember]), ToolContext()
    outcome = asyncio.run(registry.call("remember", '{"value": 4}', context=context))
    assert outcome.ok and context.state["last"] == 4


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("greet", '{"name": "ann", "times": "2"}', "hello ann hello ann"),  # "2" -> 2
        ("greet", '{"name": 42}', "hello 42"),  # 42 -> "42"
        ("divide", '{"a": "9", "b": 3}', "3"),
        ("divide", {"a": 1, "b": 4}, "0.25"),  # recovered calls arrive as dicts
        ("divide", '"{\\"a\\": 8, \\"b\\": 2}"', "4"),  # JSON encoded twice
        ("divide", "{'a': 6, 'b': 2}", "3"),  # a Python-literal dict
    ],
)
def test_arguments_are_coerced_both_ways(name: str, args: object, expected: str) -> None:
    outcome = call(ToolRegistry([greet, divide]), name, args)
    assert outcome.error is None, outcome.content  # type: ignore[attr-defined]
    assert outcome.content == expected  # type: ignore[attr-defined]


@pytest.mark.parametrize("empty", [None, "", "  ", "null", "{}", '""'])
def test_empty_arguments_mean_none(empty: object) -> None:
    outcome = call(ToolRegistry([no_args]), "no_args", empty)
    assert outcome.ok and outcome.content == "constant"  # type: ignore[attr-defined]


def test_invalid_json_is_a_model_facing_error() -> None:
    outcome = call(ToolRegistry([divide]), "divide", '{"a": 1, "b":')
    assert outcome.error == "bad_json"  # type: ignore[attr-defined]
    assert "could not be read" in outcome.content and "{a: number, b: number}" in outcome.content  # type: ignore[attr-defined]


def test_validation_failure_names_the_field_and_the_value() -> None:
    outcome = call(ToolRegistry([divide]), "divide", '{"a": "many", "b": 2}')
    assert outcome.error == "invalid_arguments"  # type: ignore[attr-defined]
    assert "a:" in outcome.content and "'many'" in outcome.content  # type: ignore[attr-defined]


def test_unknown_tool_lists_the_valid_names() -> None:
    outcome = call(ToolRegistry([greet, divide]), "multiply", "{}")
    assert outcome.error == "unknown_tool"  # type: ignore[attr-defined]
    assert "greet, divide" in outcome.content  # type: ignore[attr-defined]


def test_exception_inside_a_tool_becomes_an_error_message() -> None:
    outcome = call(ToolRegistry([divide]), "divide", '{"a": 1, "b": 0}')
    assert outcome.error == "tool_failed"  # type: ignore[attr-defined]
    assert "ZeroDivisionError" in outcome.content  # type: ignore[attr-defined]


def test_tool_error_reports_only_its_message() -> None:
    @tool
    def picky(x: int) -> int:
        """Refuse odd numbers."""
        if x % 2:
            raise ToolError("x must be even")
        return x

    outcome = call(ToolRegistry([picky]), "picky", '{"x": 3}')
    assert outcome.error == "tool_failed" and outcome.content == "Error: x must be even"  # type: ignore[attr-defined]


def test_per_tool_timeout() -> None:
    @tool(timeout=0.2)
    async def slow() -> str:
        """Take too long."""
        await asyncio.sleep(5)
        return "late"

    started = time.perf_counter()
    outcome = call(ToolRegistry([slow]), "slow", "{}")
    assert outcome.error == "timeout" and "timed out after 0.2 s" in outcome.content  # type: ignore[attr-defined]
    assert time.perf_counter() - started < 2


def test_output_is_capped_keeping_head_and_tail() -> None:
    @tool(max_output_chars=1000)
    def flood() -> str:
        """Print a lot."""
        return "HEAD" + "x" * 100_000 + "TAIL"

    outcome = call(ToolRegistry([flood]), "flood", None)
    content = outcome.content  # type: ignore[attr-defined]
    assert outcome.truncated and len(content) < 1100  # type: ignore[attr-defined]
    assert content.startswith("HEAD") and content.endswith("TAIL")
    assert "characters omitted" in content


def test_sync_tools_run_concurrently_in_threads() -> None:
    @tool
    def nap(seconds: float) -> str:
        """Sleep."""
        time.sleep(seconds)
        return "done"

    registry = ToolRegistry([nap])

    async def eight() -> list[object]:
        context = ToolContext()
        return list(
            await asyncio.gather(
                *(registry.call("nap", '{"seconds": 1}', context=context) for _ in range(8))
            )
        )

    started = time.perf_counter()
    outcomes = asyncio.run(eight())
    elapsed = time.perf_counter() - started
    assert all(o.content == "done" for o in outcomes)  # type: ignore[attr-defined]
    assert elapsed < 1.8, f"8 one-second calls took {elapsed:.2f} s"


def test_registry_is_an_object_not_a_global() -> None:
    first, second = ToolRegistry([greet]), ToolRegistry()
    assert first.names() == ["greet"] and second.names() == []
    with pytest.raises(ValueError, match="two tools"):
        ToolRegistry([greet, greet])


def test_approval_deny_ask_and_always() -> None:
    @tool(approval="ask")
    def risky() -> str:
        """Do something the user should approve."""
        return "did it"

    @tool(approval="deny")
    def forbidden() -> str:
        """Never allowed."""
        return "nope"

    registry = ToolRegistry([risky, forbidden])
    answers = iter(["no", "always"])
    asked: list[str] = []

    async def approver(request: object) -> str:
        asked.append(request.name)  # type: ignore[attr-defined]
        return next(answers)

    async def scenario() -> list[object]:
        context = ToolContext()
        results = []
        for name in ("forbidden", "risky", "risky", "risky"):
            results.append(await registry.call(name, "{}", context=context, approver=approver))  # type: ignore[arg-type]
        return results

    denied, refused, allowed, remembered = asyncio.run(scenario())
    assert denied.error == "denied" and "not allowed" in denied.content  # type: ignore[attr-defined]
    assert refused.error == "denied" and "declined" in refused.content  # type: ignore[attr-defined]
    assert allowed.content == "did it" and remembered.content == "did it"  # type: ignore[attr-defined]
    assert asked == ["risky", "risky"], "'always' must not ask again"
