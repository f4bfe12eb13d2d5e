"""Tools the chat tests load with `--tools chat_tools:TOOLS` (this folder on PYTHONPATH)."""

from __future__ import annotations

import asyncio

from tests.common_tools import add_number
from tools import tool


@tool(approval="ask")
def python(code: str) -> str:
    """Run Python code (a stand-in that only echoes it).

    Args:
        code: The code to run.
    """
    return f"ran: {code}"


@tool
async def slow(seconds: float) -> str:
    """Sleep, then say so (cancellable, as the sandboxed built-in tools are).

    Args:
        seconds: How long to sleep.
    """
    await asyncio.sleep(seconds)
    return "slept"


TOOLS = [add_number, python, slow]

MATH = [add_number]
