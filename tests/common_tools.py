"""Tools shared by the test suites (one definition, imported where needed)."""

from __future__ import annotations

from typing import Any

from agentloop import tool


@tool
def add_number(a: float, b: float) -> float:
    """Add two numbers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


TUTORIAL_ADD_NUMBER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "add_number",
        "description": "将两个数字相加",
        "parameters": {
            "type": "object",
            "properties": {
                "a": {"type": "string", "description": "第一个数字"},
                "b": {"type": "string", "description": "第二个数字"},
            },
            "required": ["a", "b"],
        },
    },
}
"""The tutorial's own tool dict, unchanged: string-typed numbers, Chinese descriptions."""

TUTORIAL_MAP_FN = {"add_number": lambda a, b: float(a) + float(b)}
"""The tutorial's function map for it."""
