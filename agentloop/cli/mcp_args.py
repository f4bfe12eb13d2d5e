"""MCP options shared by `chat`, `run`, `eval`, `tools` and `doctor`: `--mcp COMMAND|URL`
(repeatable), `--mcp-config FILE` (the `mcpServers` JSON of Claude Desktop, Cursor and
Qwen-Agent), timeouts and allow/deny lists."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentloop.errors import ConfigError
from tools import ToolError, ToolRegistry
from tools.mcp import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_STARTUP_TIMEOUT,
    MCPServer,
    MCPServerConfig,
    config_from_spec,
    configs_from_json,
)


def add_mcp_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the MCP options to a sub-command's parser."""
    group = parser.add_argument_group("MCP servers (needs agentloop[mcp])")
    group.add_argument(
        "--mcp",
        action="append",
        default=[],
        metavar="COMMAND|URL",
        help="an MCP server: a command run over stdio ('uvx mcp-server-time') or a "
        "Streamable HTTP URL; repeatable",
    )
    group.add_argument(
        "--mcp-config",
        type=Path,
        metavar="FILE",
        help='MCP servers from a JSON file in the "mcpServers" format (Claude Desktop, Cursor)',
    )
    group.add_argument(
        "--mcp-timeout",
        type=float,
        metavar="SECONDS",
        help=f"seconds one MCP call may take (default {DEFAULT_CALL_TIMEOUT:g})",
    )
    group.add_argument(
        "--mcp-startup-timeout",
        type=float,
        metavar="SECONDS",
        help=f"seconds an MCP server may take to start (default {DEFAULT_STARTUP_TIMEOUT:g})",
    )
    group.add_argument(
        "--mcp-allow", action="append", metavar="TOOLS", help="only these MCP tools (comma list)"
    )
    group.add_argument(
        "--mcp-deny", action="append", metavar="TOOLS", help="never these MCP tools (comma list)"
    )


def mcp_configs(args: argparse.Namespace) -> list[MCPServerConfig]:
    """The servers the arguments name (none when the options were not added or not given).

    Raises:
        ConfigError: A spec or the config file is malformed.
    """
    options = _options(args)
    specs: Sequence[str] = getattr(args, "mcp", None) or []
    try:
        configs = [config_from_spec(spec, **options) for spec in specs]
        path: Path | None = getattr(args, "mcp_config", None)
        if path is not None:
            configs.extend(configs_from_json(_read_json(path), **options))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"MCP: {exc}") from None
    return _unique_names(configs)


def mcp_servers(args: argparse.Namespace) -> list[MCPServer]:
    """`MCPServer`s (not started) for the arguments."""
    return [MCPServer(config) for config in mcp_configs(args)]


async def attach_mcp(
    source: argparse.Namespace | Sequence[MCPServerConfig], registry: ToolRegistry
) -> list[MCPServer]:
    """Start the servers and add their tools to `registry`, which stops them when it closes.

    Raises:
        ConfigError: The SDK is not installed or a server does not start.
    """
    configs = mcp_configs(source) if isinstance(source, argparse.Namespace) else list(source)
    if not configs:
        return []
    _require_sdk()
    servers = [MCPServer(config) for config in configs]
    for server in servers:
        try:
            await server.start()
            registry.add(server)
        except (ToolError, ValueError) as exc:
            for started in servers:
                await started.aclose()
            raise ConfigError(f"MCP: {exc}") from None
    return servers


def _options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if getattr(args, "mcp_timeout", None):
        options["call_timeout"] = args.mcp_timeout
    if getattr(args, "mcp_startup_timeout", None):
        options["startup_timeout"] = args.mcp_startup_timeout
    if getattr(args, "mcp_allow", None):
        options["allow"] = _names(args.mcp_allow)
    if getattr(args, "mcp_deny", None):
        options["deny"] = _names(args.mcp_deny)
    return options


def _names(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(n.strip() for v in values for n in v.split(",") if n.strip())


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.expanduser().read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not JSON: {exc}") from None


def _unique_names(configs: list[MCPServerConfig]) -> list[MCPServerConfig]:
    """Two servers with the same short name get -2, -3, ... (names prefix clashing tools)."""
    import dataclasses

    seen: dict[str, int] = {}
    result = []
    for config in configs:
        count = seen.get(config.name, 0) + 1
        seen[config.name] = count
        result.append(
            config if count == 1 else dataclasses.replace(config, name=f"{config.name}{count}")
        )
    return result


def _require_sdk() -> None:
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise ConfigError("MCP servers need the mcp SDK: pip install 'agentloop[mcp]'") from None


def list_mcp_tools(args: argparse.Namespace) -> int:
    """`agentloop tools --mcp ...`: what the servers offer, as the model will see it."""
    import asyncio

    try:
        return asyncio.run(_list(args))
    except ConfigError as exc:
        print(f"agentloop tools: {exc}", file=sys.stderr)
        return 2


async def _list(args: argparse.Namespace) -> int:
    registry = ToolRegistry()
    try:
        servers = await attach_mcp(args, registry)
        sent = registry.definitions()
        if getattr(args, "json", False):
            print(json.dumps(sent, indent=2, ensure_ascii=False))
            return 0
        for server in servers:
            print(f"# {server.name}: {server.config.target} (pid {server.pid or '-'})")
        for entry in sent:
            function = entry["function"]
            tool = registry.get(function["name"])
            original = tool.definition.parameters if tool is not None else None
            summary = (function["description"] or "").strip().splitlines()[:1]
            print(f"{function['name']}: {summary[0] if summary else ''}")
            print(f"  parameters: {json.dumps(function['parameters'], ensure_ascii=False)}")
            if original is not None and original != function["parameters"]:
                print("  (normalised for the server; arguments are checked against the original)")
        return 0
    finally:
        await registry.aclose()
