"""`arun_agent` and `run_agent`: one run, in one call."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from agentloop.backend import Backend
from agentloop.config import AgentConfig
from agentloop.errors import ConfigError
from agentloop.events import EventHandler
from agentloop.loop import Agent
from agentloop.profiles import Profile
from agentloop.result import RunResult
from tools import Approver, ToolContext, ToolError, ToolRegistry, ToolSource


async def arun_agent(
    prompt: str | None = None,
    *,
    messages: Sequence[Mapping[str, Any]] | None = None,
    tools: Iterable[Any] | ToolRegistry | None = None,
    functions: Mapping[str, Callable[..., Any]] | None = None,
    config: AgentConfig | None = None,
    base_url: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    profile: str | Profile | None = None,
    max_turns: int | None = None,
    sampling: Mapping[str, Any] | None = None,
    system: str | None = None,
    on_event: EventHandler | None = None,
    approver: Approver | None = None,
    transcript: str | Path | None = None,
    context: ToolContext | None = None,
    backend: Backend | None = None,
    stream: bool | None = None,
) -> RunResult:
    """Run the agent loop once and return its result.

    Args:
        prompt: The user's message (or give `messages`).
        messages: A conversation in OpenAI message format to continue.
        tools: Tools the model may call: `@tool` functions, plain typed functions, OpenAI
            tool dicts (with `functions`), MCP servers (`tools.mcp.MCPServer`, stopped when
            the run ends), or a ready `ToolRegistry` (left open: it is yours).
        functions: Tool name -> function for the OpenAI tool dicts in `tools`.
        config: Full settings; the keyword arguments below override its fields.
        base_url: The server's OpenAI-compatible URL, e.g. "http://127.0.0.1:8001/v1".
        model: Model id; discovered from `GET /models` when not given.
        api_key: Bearer token, if the server wants one.
        profile: Sampling profile name or object; chosen by model id when not given.
        max_turns: Model replies before the run stops with "max_turns".
        sampling: Sampling overrides, e.g. {"temperature": 0}.
        system: A system prompt.
        on_event: Called with every typed event (sync or async).
        approver: Asked before calls to tools whose approval is "ask".
        transcript: Append every raw request and response to this JSONL file.
        context: Tool state to keep across runs (a fresh one per run otherwise).
        backend: A stand-in backend (tests).
        stream: Stream replies (default: the config's, True).
    """
    if config is not None and base_url is None and backend is None and not config.base_url:
        raise ConfigError("no server configured: pass base_url or set config.base_url")
    settings = (config or AgentConfig()).with_(
        base_url=base_url, model=model, api_key=api_key, max_turns=max_turns, stream=stream
    )
    if backend is None and not settings.base_url:
        raise ConfigError("no server configured: pass base_url= (e.g. http://127.0.0.1:8001/v1)")
    registry = tools if isinstance(tools, ToolRegistry) else await _registry(tools, functions)
    try:
        async with Agent(
            config=settings, tools=registry, profile=profile, system=system, backend=backend
        ) as agent:
            result = await agent.run(
                prompt,
                messages=messages,
                on_event=on_event,
                approver=approver,
                transcript=transcript,
                context=context,
                sampling=sampling,
            )
        return name_rejected_tool(result, registry)
    finally:
        if registry is not tools:
            await registry.aclose()  # stops the MCP servers this run started


def name_rejected_tool(result: RunResult, registry: ToolRegistry) -> RunResult:
    """When the server refused the request because of a tool's schema, say which tool.

    Args:
        result: A finished run.
        registry: The tools that were sent.

    Returns:
        The result, its `error` starting with "the server refused the schema of tool X" when
        the server's message points at one tool; otherwise unchanged.
    """
    if result.stop_reason != "backend_error" or not result.error:
        return result
    name = registry.rejected_tool(result.error)
    if name is None:
        return result
    error = f"the server refused the schema of tool {name!r}: {result.error}"
    return dataclasses.replace(result, error=error)


async def _registry(
    tools: Iterable[Any] | None, functions: Mapping[str, Callable[..., Any]] | None
) -> ToolRegistry:
    """A registry of every shape of tool; MCP servers are started first without blocking."""
    items = list(tools or ())
    try:
        for item in items:
            start = getattr(item, "start", None)
            if isinstance(item, ToolSource) and callable(start):
                await start()
        return ToolRegistry(items, functions=functions)
    except (TypeError, ValueError, ToolError) as exc:
        for item in items:
            if isinstance(item, ToolSource):
                item.close()
        raise ConfigError(str(exc)) from None


def run_agent(prompt: str | None = None, **kwargs: Any) -> RunResult:
    """The synchronous form of `arun_agent` (same arguments). Ctrl-C ends the run as
    "cancelled" and returns what was done so far."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(arun_agent(prompt, **kwargs))
    raise ConfigError("run_agent() was called inside an event loop: use `await arun_agent(...)`")
