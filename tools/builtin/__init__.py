"""Built-in tools: factories that take a sandbox and a policy (nothing registers itself).

- `python_tool`: REPL-style Python in a warm sandboxed interpreter, one per run.
- `terminal_tool`: a shell command checked by a `CommandPolicy`, then run in the sandbox.
- `math_tools`: ``add_number``, ``subtract_number``, ``multiply_number``, ``calculate``.
- `story_tool` (``write_a_story``) and `date_tool` (``current_date``).
- `default_tools`: all of them, with per-tool approval overrides.
"""

from tools.builtin._defaults import BUILTIN_NAMES, REPL_APPROVALS, default_tools
from tools.builtin._math import evaluate, math_tools
from tools.builtin._misc import date_tool, story_tool
from tools.builtin._policy import DEFAULT_ALLOWED, DEFAULT_REFUSALS, CommandPolicy, Verdict
from tools.builtin._python import PythonPolicy, python_tool
from tools.builtin._terminal import render_exec_result, terminal_tool

__all__ = [
    "BUILTIN_NAMES",
    "DEFAULT_ALLOWED",
    "DEFAULT_REFUSALS",
    "REPL_APPROVALS",
    "CommandPolicy",
    "PythonPolicy",
    "Verdict",
    "date_tool",
    "default_tools",
    "evaluate",
    "math_tools",
    "python_tool",
    "render_exec_result",
    "story_tool",
    "terminal_tool",
]
