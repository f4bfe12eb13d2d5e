"""`agentloop doctor --mcp ...`: does each MCP server start, what does it offer, and does
the model server accept its tool schemas (in the form agentloop sends them)?"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from agentloop.backend import ChatRequest, OpenAIBackend
from agentloop.doctor import Finding
from agentloop.errors import BackendError, BackendHTTPError
from tools import ToolError, ToolRegistry
from tools.mcp import MCPServer, MCPServerConfig


async def mcp_findings(backend: OpenAIBackend, configs: Sequence[MCPServerConfig]) -> list[Finding]:
    """One or two findings per server; never raises for server problems."""
    findings: list[Finding] = []
    for config in configs:
        findings.extend(await _check(backend, config))
    return findings


async def _check(backend: OpenAIBackend, config: MCPServerConfig) -> list[Finding]:
    topic = f"MCP {config.name}"
    server = MCPServer(config)
    started = time.perf_counter()
    try:
        tools = await server.start()
    except ToolError as exc:
        fix = "check the command/URL, or raise --mcp-startup-timeout for slow servers"
        return [Finding("fail", topic, str(exc), fix)]
    try:
        elapsed = time.perf_counter() - started
        names = ", ".join(t.name for t in tools) or "no tools"
        found = [Finding("ok", topic, f"started in {elapsed:.1f} s (pid {server.pid}): {names}")]
        registry = ToolRegistry(tools)
        found.append(await _schemas_accepted(backend, registry, topic))
        return found
    finally:
        await server.aclose()


async def _schemas_accepted(backend: OpenAIBackend, registry: ToolRegistry, topic: str) -> Finding:
    request = ChatRequest(
        messages=[{"role": "user", "content": "Say ok."}],
        tools=registry.definitions(),
        params={"temperature": 0, "max_tokens": 4},
        stream=False,
    )
    try:
        await backend.complete(request)
    except BackendHTTPError as exc:
        body = _text(exc.body) or str(exc)
        name = registry.rejected_tool(body)
        which = f"the schema of {name}" if name else "a tool schema"
        return Finding("fail", f"{topic} schemas", f"the server rejects {which}: {body[:300]}")
    except BackendError as exc:
        return Finding("warn", f"{topic} schemas", f"could not check: {exc}")
    return Finding("ok", f"{topic} schemas", f"the server accepts all {len(registry)} schemas")


def _text(body: Any) -> str:
    if body is None:
        return ""
    return body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
