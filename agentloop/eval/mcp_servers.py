"""MCP servers of one eval trial: the task's `"mcp"` entries plus the command line's
`--mcp`/`--mcp-config`, each trial with its own server processes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from tools import Tool, ToolError
from tools.mcp import MCPServer, MCPServerConfig, config_from_spec, configs_from_json


def task_configs(entries: Sequence[str | Mapping[str, Any]]) -> list[MCPServerConfig]:
    """Configs from a task's `"mcp"` list: commands/URLs, or `mcpServers`-style objects
    with a `"name"`.

    Raises:
        ValueError: An entry is malformed.
    """
    configs: list[MCPServerConfig] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, str):
            configs.append(config_from_spec(entry))
            continue
        name = str(entry.get("name") or f"mcp{index + 1}")
        body = {k: v for k, v in entry.items() if k != "name"}
        configs.extend(configs_from_json({"mcpServers": {name: body}}))
    return configs


async def start_trial_servers(
    configs: Sequence[MCPServerConfig], *, taken: set[str] | None = None
) -> tuple[list[Tool], Callable[[], Awaitable[None]]]:
    """Start fresh servers for one trial; returns their tools and the coroutine that stops
    them (by PID). A server that does not start raises `ToolError` after stopping the rest.

    Args:
        configs: The servers.
        taken: Names of the trial's other tools (a clashing MCP tool gets its server prefix).
    """
    servers = [MCPServer(config) for config in configs]
    names: set[str] = set(taken or ())
    tools: list[Tool] = []

    async def stop() -> None:
        for server in servers:
            await server.aclose()

    try:
        for server in servers:
            for item in await server.start():
                tools.append(item if item.name not in names else _prefixed(item, server.name))
                names.add(tools[-1].name)
    except (ToolError, ValueError):
        await stop()
        raise
    return tools, stop


def _prefixed(item: Tool, prefix: str) -> Tool:
    import dataclasses

    definition = dataclasses.replace(item.definition, name=f"{prefix}_{item.name}")
    return dataclasses.replace(item, definition=definition)
