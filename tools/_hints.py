"""What to add to a failed call that used another tool as if it were a function or program.

Small models write `print(add_number(2 ** 20, 1000))` in the python tool, or run
`add_number 2 3` in the terminal: the tools they were given look like functions to them.
The error alone ("name 'add_number' is not defined") reads as a dead end; the hint says
what the tool is and what to send instead.
"""

from __future__ import annotations

import re
from collections.abc import Collection

# How an interpreter or shell says a name does not exist there.
_UNDEFINED = (
    re.compile(r"NameError: name '([A-Za-z_]\w*)' is not defined"),
    re.compile(r"`([A-Za-z_][\w.-]*)` is not in the list of allowed programs"),
)


def other_tool_hint(tool: str, message: str, names: Collection[str]) -> str:
    """A sentence naming the other tool `message` says is undefined inside `tool`, or "".

    Args:
        tool: The tool whose call failed.
        message: Its error or refusal text.
        names: Every tool the model has.
    """
    for pattern in _UNDEFINED:
        for found in pattern.finditer(message):
            other = found.group(1)
            if other != tool and other in names:
                return (
                    f"\n`{other}` is one of your tools, not a name {tool} knows: call "
                    f"{other} as its own tool call with the values you already have, or "
                    f"do this step with {tool} alone."
                )
    return ""
