"""Which tools the chat offers: the built-in set over a sandboxed workspace, none, or the
tools of a Python module (`--tools package.module:attr`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentloop.errors import ConfigError
from tools import Tool, ToolRegistry


@dataclass(slots=True)
class Toolset:
    """The registry plus whatever must be closed with it (the sandbox)."""

    registry: ToolRegistry
    note: str = ""
    _closers: list[Any] = field(default_factory=list)

    async def aclose(self) -> None:
        """Close the sandbox, release the tool threads and stop the MCP servers."""
        for closer in self._closers:
            await closer()
        await self.registry.aclose()  # MCP servers stop without blocking the loop


def load_toolset(spec: str, workspace: Path) -> Toolset:
    """Build the tools named by `spec`.

    Args:
        spec: "builtin" (python, terminal, math, ... over a sandboxed `workspace`), "none",
            or "module:attr" as `agentloop.user_tools.load_user_tools` reads it.
        workspace: The directory the built-in tools may read and write.

    Raises:
        ConfigError: The spec cannot be loaded.
    """
    if spec == "none":
        return Toolset(ToolRegistry())
    if spec == "builtin":
        return _builtin(workspace)
    return Toolset(_from_module(spec))


def _builtin(workspace: Path) -> Toolset:
    try:
        from sandbox import Sandbox
        from tools.builtin import REPL_APPROVALS, default_tools
    except ImportError as exc:
        return Toolset(ToolRegistry(), note=f"built-in tools unavailable ({exc})")
    box = Sandbox(workspace)
    # python and terminal always go through the approver; --approve decides what it says.
    tools = default_tools(box, approval_overrides=REPL_APPROVALS)
    registry = _as_registry(tools, "tools.builtin.default_tools")
    return Toolset(registry, note=f"workspace {workspace}", _closers=[box.aclose])


def _from_module(spec: str) -> ToolRegistry:
    from agentloop.user_tools import load_user_tools

    if ":" not in spec:
        raise ConfigError(f"--tools takes builtin, none or MODULE:ATTR, not {spec!r}")
    return ToolRegistry(load_user_tools(spec, option="--tools"))


def _as_registry(value: Any, where: str) -> ToolRegistry:
    if isinstance(value, ToolRegistry):
        return value
    if isinstance(value, Tool):
        return ToolRegistry([value])
    if isinstance(value, Iterable):
        try:  # Tools, plain typed functions, MCP servers
            return ToolRegistry(list(value))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}") from None
    raise ConfigError(f"{where} is not a tool, a list of tools or a ToolRegistry")
