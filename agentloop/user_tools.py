"""User tools named `package.module:attribute`: one meaning for `chat`, `run`, `eval` and
`agentloop tools`.

The attribute may be:

- a `Tool`, a list of tools, or a `ToolRegistry`: those tools;
- a plain function that takes arguments: made a tool with `@tool` (its docstring and type
  hints give the schema);
- a function of no arguments: a factory, called once; it must return one of the above.
  (A tool that takes no arguments is written with `@tool`.)
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from agentloop.errors import ConfigError
from tools import Tool, ToolRegistry, tool


def load_user_tools(spec: str, *, option: str = "") -> list[Tool]:
    """Import `spec` ("package.module:attribute") and return its tools.

    Args:
        spec: What to import.
        option: The option that named it, for messages (e.g. "--tools").

    Raises:
        ConfigError: The module or attribute is missing, or does not give tools.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"a user tool is named MODULE:ATTR, not {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        where = f" for {option}" if option else ""
        raise ConfigError(f"cannot import {module_name}{where}: {exc}") from None
    value: Any = getattr(module, attribute, None)
    if value is None:
        raise ConfigError(f"{module_name!r} has no attribute {attribute!r}")
    tools = _as_tools(value)
    if tools is not None:
        return tools
    if callable(value):
        if _takes_arguments(value):
            return [tool(value)]
        made = _as_tools(value())
        if made is not None:
            return made
        raise ConfigError(
            f"{spec}() returned no tools (a Tool, a list of tools or a ToolRegistry); "
            "a tool without arguments is written with @tool"
        )
    raise ConfigError(f"{spec} is not a tool, a list of tools, a ToolRegistry or a function")


def _as_tools(value: Any) -> list[Tool] | None:
    if isinstance(value, Tool):
        return [value]
    if isinstance(value, ToolRegistry):
        return [t for name in value.names() if (t := value.get(name)) is not None]
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | dict):
        items = list(value)
        if items and all(isinstance(item, Tool) or callable(item) for item in items):
            return [item if isinstance(item, Tool) else tool(item) for item in items]
    return None


def _takes_arguments(function: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters)
