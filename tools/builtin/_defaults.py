"""The whole built-in tool set, with per-tool approval settings."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from sandbox import Sandbox
from tools import Approval, Tool
from tools.builtin._math import math_tools
from tools.builtin._misc import date_tool, story_tool
from tools.builtin._policy import CommandPolicy
from tools.builtin._python import PythonPolicy, python_tool
from tools.builtin._terminal import terminal_tool

BUILTIN_NAMES: tuple[str, ...] = (
    "python",
    "terminal",
    "add_number",
    "subtract_number",
    "multiply_number",
    "calculate",
    "write_a_story",
    "current_date",
)
REPL_APPROVALS: Mapping[str, Approval] = {"python": "ask", "terminal": "ask"}
"""Approval settings for an interactive session: code and commands are confirmed first."""


def default_tools(
    sandbox: Sandbox,
    *,
    approval_overrides: Mapping[str, Approval] | None = None,
    python_policy: PythonPolicy | None = None,
    command_policy: CommandPolicy | None = None,
) -> list[Tool]:
    """Every built-in tool, in `BUILTIN_NAMES` order.

    Args:
        sandbox: Where the python and terminal tools run.
        approval_overrides: Tool name -> ``auto``/``ask``/``deny`` (e.g. `REPL_APPROVALS`).
        python_policy: Settings of the python tool.
        command_policy: Settings of the terminal tool.

    Raises:
        ValueError: An override names a tool that does not exist.
    """
    overrides = dict(approval_overrides or {})
    unknown = set(overrides) - set(BUILTIN_NAMES)
    if unknown:
        raise ValueError(f"approval override for unknown tool(s): {', '.join(sorted(unknown))}")
    tools = [
        python_tool(sandbox, python_policy),
        terminal_tool(sandbox, command_policy),
        *math_tools(),
        story_tool(),
        date_tool(),
    ]
    return [
        dataclasses.replace(t, approval=overrides[t.name]) if t.name in overrides else t
        for t in tools
    ]
