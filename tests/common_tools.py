"""Tools shared by the test suites (one definition, imported where needed)."""

from __future__ import annotations

from agentloop import tool


@tool
def add_number(a: float, b: float) -> float:
    """Add two numbers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b
