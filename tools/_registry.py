"""`ToolRegistry`: look up, validate, approve, run and cap one tool call at a time."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sandbox import sanitize_text
from tools._arguments import ArgumentsError, cap_output, parse_arguments, render_result
from tools._hints import other_tool_hint
from tools._log import get_logger
from tools._server_schema import rejected_tool, schema_for_server
from tools._tool import Tool, tool
from tools._types import (
    ApprovalRequest,
    Approver,
    ToolContext,
    ToolError,
    ToolErrorKind,
    ToolOutcome,
    ToolRefused,
    ToolSource,
)
from tools._validate import InvalidArguments

log = get_logger(__name__)

# Sync tools run in threads; enough workers that a reply's calls really run side by side.
_MAX_THREADS = 32


class ToolRegistry:
    """The tools of one agent, by name. Built explicitly; nothing registers itself on import.

    Args:
        tools: Tools in any of three shapes: `Tool`s (``@tool``), plain typed functions
            (wrapped with `tool`), OpenAI tool dicts (their functions come from
            `functions`), and tool sources such as `tools.mcp.MCPServer`, whose tools are
            listed when added and which are closed with the registry.
        functions: Tool name -> function, for the OpenAI tool dicts.

    Raises:
        TypeError: An item is none of those shapes.
        ValueError: Two tools share a name, or a dict's function is missing.
    """

    def __init__(
        self,
        tools: Iterable[Any] = (),
        *,
        functions: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        self._tools: dict[str, Tool] = {}
        self._sent: dict[str, dict[str, Any]] = {}
        self._sources: list[ToolSource] = []
        self._executor: ThreadPoolExecutor | None = None
        self._functions = dict(functions or {})
        for item in tools:
            self.add(item)

    def add(self, item: Any) -> None:
        """Add a tool (or every tool of a source); a name used twice raises ValueError."""
        if isinstance(item, ToolSource) and not isinstance(item, Tool):
            self._sources.append(item)  # closed with the registry even if listing fails
            prefix = str(getattr(item, "name", "") or "source")
            for each in item.tools():
                # Two servers (or a server and a local tool) with a same-named tool: the
                # later one is exposed as "<server>_<tool>".
                self._add_tool(
                    _renamed(each, f"{prefix}_{each.name}") if each.name in self else each
                )
        elif isinstance(item, Mapping):
            self._add_tool(self._from_dict(item))
        elif isinstance(item, Tool):
            self._add_tool(item)
        elif callable(item) and hasattr(item, "__name__"):
            self._add_tool(tool(item))
        else:
            raise TypeError(
                "expected a Tool, a typed function, an OpenAI tool dict or a tool source "
                f"(such as an MCP server), got {item!r}"
            )

    def _add_tool(self, item: Tool) -> None:
        if item.name in self._tools:
            raise ValueError(f"two tools are named {item.name!r}")
        self._tools[item.name] = item

    def _from_dict(self, entry: Mapping[str, Any]) -> Tool:
        inner = entry.get("function", entry)
        name = inner.get("name") if isinstance(inner, Mapping) else None
        function = self._functions.get(name) if isinstance(name, str) else None
        if function is None:
            given = ", ".join(self._functions) or "none"
            raise ValueError(
                f"no function for the tool dict {name!r}: pass functions={{{name!r}: fn}} "
                f"(functions given: {given})"
            )
        return Tool.from_schema(entry, function)

    def get(self, name: str) -> Tool | None:
        """The tool with this name, or None."""
        return self._tools.get(name)

    def names(self) -> list[str]:
        """Tool names in the order they were added."""
        return list(self._tools)

    def definitions(self) -> list[dict[str, Any]]:
        """The `tools` list of a chat-completions request, each schema in the normalised form
        that llama.cpp's grammar and vLLM's parsers accept (see `schema_for_server`)."""
        return [self._definition_sent(t) for t in self._tools.values()]

    def _definition_sent(self, item: Tool) -> dict[str, Any]:
        sent = self._sent.get(item.name)
        if sent is None:
            sent = item.definition.to_openai()
            sent["function"]["parameters"] = schema_for_server(item.definition.parameters)
            self._sent[item.name] = sent
        return sent

    def rejected_tool(self, error_body: str) -> str | None:
        """The tool a server's "cannot use this tool schema" error is about, if it can be told.

        Args:
            error_body: The body (or message) of the server's 4xx/5xx reply.
        """
        sent = rejected_tool(error_body, self.definitions())
        originals = [t.definition.to_openai() for t in self._tools.values()]
        return sent or rejected_tool(error_body, originals)

    def remove(self, name: str) -> Tool | None:
        """Take a tool out (e.g. one whose schema the server rejects); returns it, or None."""
        self._sent.pop(name, None)
        return self._tools.pop(name, None)

    def parameter_schemas(self) -> dict[str, dict[str, Any]]:
        """Tool name -> JSON schema of its parameters."""
        return {name: t.definition.parameters for name, t in self._tools.items()}

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def close(self) -> None:
        """Release the worker threads (running calls finish in the background) and close the
        tool sources (MCP servers are stopped)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        while self._sources:
            self._sources.pop().close()

    async def aclose(self) -> None:
        """`close` without blocking the event loop while servers stop."""
        await asyncio.to_thread(self.close)

    async def __aenter__(self) -> ToolRegistry:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def call(
        self,
        name: str,
        raw_arguments: str | dict[str, Any] | None,
        *,
        context: ToolContext,
        approver: Approver | None = None,
        call_id: str = "",
    ) -> ToolOutcome:
        """Run one call; every failure becomes an error outcome the model can act on."""
        started = time.perf_counter()
        tool = self._tools.get(name)
        if tool is None:
            return _fail(name, None, "unknown_tool", self._unknown_message(name), started)
        try:
            arguments = parse_arguments(raw_arguments)
        except ArgumentsError as exc:
            return _fail(name, None, "bad_json", _bad_json_message(tool, exc), started)
        try:
            kwargs = tool.validate(arguments)
        except InvalidArguments as exc:
            return _fail(name, arguments, "invalid_arguments", _invalid(tool, exc), started)
        refusal = await _check_approval(tool, arguments, context, approver, call_id)
        if refusal is not None:
            return _fail(name, arguments, "denied", refusal, started)
        if tool.context_param:
            kwargs[tool.context_param] = context
        return await self._run(tool, arguments, kwargs, started)

    async def _run(
        self, tool: Tool, arguments: dict[str, Any], kwargs: dict[str, Any], started: float
    ) -> ToolOutcome:
        try:
            value = await asyncio.wait_for(self._invoke(tool, kwargs), tool.timeout)
        except TimeoutError:
            log.info("tool.timeout", tool=tool.name, timeout=tool.timeout)
            message = f"Error: {tool.name} timed out after {tool.timeout:g} s and was stopped."
            return _fail(tool.name, arguments, "timeout", message, started)
        except ToolError as exc:  # ToolRefused too: the refusal text stands alone
            refused = isinstance(exc, ToolRefused)
            message = f"{'' if refused else 'Error: '}{exc}"
            message += other_tool_hint(tool.name, str(exc), self._tools)
            kind: ToolErrorKind = "refused" if refused else "tool_failed"
            return _fail(tool.name, arguments, kind, message, started)
        except Exception as exc:
            log.info("tool.failed", tool=tool.name, error_type=type(exc).__name__)
            message = f"Error: {tool.name} raised {type(exc).__name__}: {exc}"
            return _fail(tool.name, arguments, "tool_failed", message, started)
        content, truncated = cap_output(render_result(value), tool.max_output_chars)
        duration = time.perf_counter() - started
        return ToolOutcome(tool.name, arguments, content, None, duration, truncated)

    async def _invoke(self, tool: Tool, kwargs: dict[str, Any]) -> Any:
        if tool.is_async:
            return await tool.function(**kwargs)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(_MAX_THREADS, thread_name_prefix="agentloop-tool")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(tool.function, **kwargs)
        )

    def _unknown_message(self, name: str) -> str:
        valid = ", ".join(self._tools) or "(none)"
        return f"Error: there is no tool named {name!r}. Available tools: {valid}."


async def _check_approval(
    tool: Tool,
    arguments: dict[str, Any],
    context: ToolContext,
    approver: Approver | None,
    call_id: str,
) -> str | None:
    """None when the call may run, else the refusal text for the model."""
    if tool.approval == "auto" or tool.name in context.always_approved:
        return None
    if tool.approval == "deny":
        return f"Error: calls to {tool.name} are not allowed by the user's settings."
    if approver is None:
        return f"Error: {tool.name} needs the user's approval and no one can approve it here."
    decision = await approver(ApprovalRequest(tool.name, arguments, call_id))
    if decision == "always":
        context.always_approved.add(tool.name)
        return None
    if decision == "yes":
        return None
    return (
        f"The user declined to run {tool.name} with these arguments. "
        "Do not repeat the same call; try another way or ask the user."
    )


def _renamed(item: Tool, name: str) -> Tool:
    return dataclasses.replace(item, definition=dataclasses.replace(item.definition, name=name))


def _fail(
    name: str,
    arguments: dict[str, Any] | None,
    kind: ToolErrorKind,
    message: str,
    started: float,
) -> ToolOutcome:
    # Messages echo model-written names and values: sanitised like all tool output.
    message = sanitize_text(message)
    return ToolOutcome(name, arguments, message, kind, time.perf_counter() - started)


def _bad_json_message(tool: Tool, exc: ArgumentsError) -> str:
    return (
        f"Error: the arguments for {tool.name} could not be read: {exc}. "
        f"Call {tool.name} again with a JSON object matching: {_signature(tool)}."
    )


def _invalid(tool: Tool, exc: InvalidArguments) -> str:
    return (
        f"Error: invalid arguments for {tool.name}: {'; '.join(exc.problems)}. "
        f"Expected: {_signature(tool)}. Call {tool.name} again with corrected arguments."
    )


def _signature(tool: Tool) -> str:
    props = tool.definition.parameters.get("properties", {})
    required = set(tool.definition.parameters.get("required", []))
    parts = []
    for pname, schema in props.items():
        kind = (schema.get("type") if isinstance(schema, dict) else None) or "any"
        parts.append(f"{pname}: {kind}" + ("" if pname in required else " (optional)"))
    return "{" + ", ".join(parts) + "}"
