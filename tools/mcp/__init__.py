"""MCP servers as tools, on the official `mcp` SDK (install `agentloop[mcp]`).

    from tools.mcp import MCPServer
    time_server = MCPServer.stdio("mcp-server-time", "--local-timezone", "UTC")
    registry = ToolRegistry([time_server])      # listed now; stopped by registry.close()

Stdio servers (a command) and Streamable HTTP servers (a URL); `configs_from_json` reads
the `mcpServers` format of Claude Desktop, Cursor and Qwen-Agent. Importing this package
does not import the SDK: starting a server does.
"""

from tools.mcp._config import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_STARTUP_TIMEOUT,
    MCPServerConfig,
    config_from_spec,
    configs_from_json,
)
from tools.mcp._content import result_text
from tools.mcp._server import MCPServer

__all__ = [
    "DEFAULT_CALL_TIMEOUT",
    "DEFAULT_STARTUP_TIMEOUT",
    "MCPServer",
    "MCPServerConfig",
    "config_from_spec",
    "configs_from_json",
    "result_text",
]
