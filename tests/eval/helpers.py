"""Tools and a rule-based fake model shared by the eval tests."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agentloop.backend.types import ChatRequest, ModelReply
from agentloop.testing import FakeReply, reply
from tests.common_tools import add_number
from tools import Tool, ToolError, tool


@tool
def multiply_number(a: float, b: float) -> float:
    """Multiply two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a * b


@tool
def current_date() -> str:
    """Today's date (ISO)."""
    return FIXED_TODAY.isoformat()


@tool
def explode(reason: str) -> str:
    """Always fails.

    Args:
        reason: Why.
    """
    raise ToolError(reason)


FIXED_TODAY = dt.date(2031, 12, 30)
TEST_TOOLS: list[Tool] = [add_number, multiply_number, current_date, explode]

Decision = tuple[str, list[tuple[str, dict[str, Any]]]]


def decide(messages: Sequence[dict[str, Any]]) -> Decision:
    """A deterministic 'model': reads the last user prompt and the tool results so far.

    Prompts it understands: "add A B", "multiply A B", "date plus N", "say TEXT",
    "loop" (calls add forever). Returns (content, calls).
    """
    prompt = next(m["content"] for m in reversed(messages) if m["role"] == "user")
    results = [str(m["content"]) for m in messages if m["role"] == "tool"]
    words = prompt.split()
    if words[0] == "loop":
        return "", [("add_number", {"a": len(results), "b": 1})]
    if words[0] in ("add", "multiply") and not results:
        name = "add_number" if words[0] == "add" else "multiply_number"
        return "", [(name, {"a": float(words[1]), "b": float(words[2])})]
    if words[0] == "date" and not results:
        return "", [("current_date", {})]
    if words[0] == "date":
        day = dt.date.fromisoformat(results[-1].strip('"')) + dt.timedelta(days=int(words[2]))
        return f"It will be {day.isoformat()}.", []
    if results:
        try:
            return f"The result is {float(results[-1]):g}.", []
        except ValueError:
            return f"The tool failed: {results[-1]}", []
    return " ".join(words[1:]), []


def scripted_step(request: ChatRequest) -> ModelReply:
    """`ScriptedBackend` step built on `decide`."""
    content, calls = decide(list(request.messages))
    return reply(content, *calls)


def fake_server_step(body: dict[str, Any]) -> FakeReply:
    """`FakeOpenAIServer` script item built on `decide`."""
    content, calls = decide(body["messages"])
    return FakeReply(content=content, tool_calls=[(n, a) for n, a in calls])


def task_line(task_id: str, prompt: str, checks: list[dict[str, Any]], **extra: Any) -> str:
    """One JSONL line."""
    data = {"id": task_id, "category": extra.pop("category", "math"), "prompt": prompt}
    data.update(extra)
    data["checks"] = checks
    return json.dumps(data)


def write_tasks(path: Path, lines: Sequence[str]) -> Path:
    """Write a task file and return its path."""
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def standard_tasks(path: Path) -> Path:
    """Four tasks: three the fake model passes, one it fails."""
    return write_tasks(
        path,
        [
            task_line(
                "add",
                "add 2 3",
                [
                    {"type": "answer_number", "value": 5},
                    {"type": "tool_called", "name": "add_number"},
                ],
            ),
            task_line("mul", "multiply 6 7", [{"type": "answer_contains", "value": "42"}]),
            task_line(
                "date",
                "date plus 3",
                [{"type": "answer_contains", "value": "{{today+3}}"}],
                category="dates",
            ),
            task_line(
                "wrong",
                "add 1 1",
                [{"type": "answer_number", "value": 3}],
                category="dates",
            ),
        ],
    )


def match_id(pattern: str) -> Callable[[str], bool]:
    """A predicate on task ids."""
    regex = re.compile(pattern)
    return lambda task_id: bool(regex.search(task_id))
