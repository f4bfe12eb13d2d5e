"""`ToolRegistry`: look up, validate, approve, run and cap one tool call at a time."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import ValidationError

from tools._arguments import ArgumentsError, cap_output, parse_arguments, render_result
from tools._log import get_logger
from tools._tool import Tool
from tools._types import (
    ApprovalRequest,
    Approver,
    ToolContext,
    ToolError,
    ToolErrorKind,
    ToolOutcome,
    ToolRefused,
)

log = get_logger(__name__)

# Sync tools run in threads; enough workers that a reply's calls really run side by side.
_MAX_THREADS = 32


class ToolRegistry:
    """The tools of one agent, by name. Built explicitly; nothing registers itself on import."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        self._executor: ThreadPoolExecutor | None = None
        for item in tools:
            self.add(item)

    def add(self, item: Tool) -> None:
        """Add a tool; a second tool with the same name is a mistake and raises ValueError."""
        if not isinstance(item, Tool):
            raise TypeError(f"expected a Tool (use @tool on the function), got {item!r}")
        if item.name in self._tools:
            raise ValueError(f"two tools are named {item.name!r}")
        self._tools[item.name] = item

    def get(self, name: str) -> Tool | None:
        """The tool with this name, or None."""
        return self._tools.get(name)

    def names(self) -> list[str]:
        """Tool names in the order they were added."""
        return list(self._tools)

    def definitions(self) -> list[dict[str, Any]]:
        """The `tools` list of a chat-completions request."""
        return [t.definition.to_openai() for t in self._tools.values()]

    def parameter_schemas(self) -> dict[str, dict[str, Any]]:
        """Tool name -> JSON schema of its parameters."""
        return {name: t.definition.parameters for name, t in self._tools.items()}

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def close(self) -> None:
        """Release the worker threads (running calls finish in the background)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

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
            validated = tool.args_model.model_validate(arguments)
        except ValidationError as exc:
            return _fail(name, arguments, "invalid_arguments", _invalid(tool, exc), started)
        refusal = await _check_approval(tool, arguments, context, approver, call_id)
        if refusal is not None:
            return _fail(name, arguments, "denied", refusal, started)
        kwargs = {field: getattr(validated, field) for field in type(validated).model_fields}
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
        except ToolRefused as exc:
            return _fail(tool.name, arguments, "refused", str(exc), started)
        except ToolError as exc:
            return _fail(tool.name, arguments, "tool_failed", f"Error: {exc}", started)
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


def _fail(
    name: str,
    arguments: dict[str, Any] | None,
    kind: ToolErrorKind,
    message: str,
    started: float,
) -> ToolOutcome:
    return ToolOutcome(name, arguments, message, kind, time.perf_counter() - started)


def _bad_json_message(tool: Tool, exc: ArgumentsError) -> str:
    return (
        f"Error: the arguments for {tool.name} could not be read: {exc}. "
        f"Send a JSON object matching: {_signature(tool)}."
    )


def _invalid(tool: Tool, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "arguments"
        got = f" (got {err['input']!r})" if err["type"] != "missing" else ""
        problems.append(f"{where}: {err['msg']}{got}")
    return (
        f"Error: invalid arguments for {tool.name}: {'; '.join(problems)}. "
        f"Expected: {_signature(tool)}."
    )


def _signature(tool: Tool) -> str:
    props = tool.definition.parameters.get("properties", {})
    required = set(tool.definition.parameters.get("required", []))
    parts = []
    for pname, schema in props.items():
        kind = schema.get("type") or "any"
        parts.append(f"{pname}: {kind}" + ("" if pname in required else " (optional)"))
    return "{" + ", ".join(parts) + "}"
