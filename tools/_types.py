"""Plain values shared across the tools package: definitions, outcomes, approval."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from tools._tool import Tool

Approval = Literal["auto", "ask", "deny"]
"""How a tool call is approved: run it, ask a callback first, or refuse it."""

ApprovalDecision = Literal["yes", "no", "always"]
"""An approver's answer: run this call, refuse it, or run every call of this tool from now on."""

ToolErrorKind = Literal[
    "bad_json",
    "invalid_arguments",
    "unknown_tool",
    "tool_failed",
    "timeout",
    "refused",
    "denied",
]
"""Why a call produced an error message instead of a result."""


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    """What the model sees of a tool: kept apart from the callable."""

    name: str
    description: str
    parameters: dict[str, Any]

    def to_openai(self) -> dict[str, Any]:
        """The entry for the `tools` list of a chat-completions request."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """A call waiting for approval, as shown to a human or a policy callback."""

    name: str
    arguments: dict[str, Any]
    call_id: str = ""


Approver = Callable[[ApprovalRequest], Awaitable[ApprovalDecision]]


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """The result of one call: what goes back to the model, and why it failed if it did."""

    name: str
    arguments: dict[str, Any] | None
    content: str
    error: ToolErrorKind | None = None
    duration: float = 0.0
    truncated: bool = False

    @property
    def ok(self) -> bool:
        """True when the tool ran and returned normally."""
        return self.error is None


class ToolError(Exception):
    """Raise inside a tool to report a failure to the model: the message only, no traceback."""


class ToolRefused(ToolError):
    """Raise inside a tool that declines to do what was asked (a policy said no)."""


@dataclass(slots=True)
class ToolContext:
    """Per-run scratch space for tools that ask for it (declare a `ToolContext` parameter).

    The loop makes one per run and closes it at the end; a chat session may keep one across
    runs so that, for example, Python variables survive from one question to the next.
    """

    run_id: str = ""
    state: dict[str, object] = field(default_factory=dict)
    _cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    always_approved: set[str] = field(default_factory=set)

    def add_cleanup(self, fn: Callable[[], Awaitable[None]]) -> None:
        """Register a coroutine function awaited when the context closes (last in, first out)."""
        self._cleanups.append(fn)

    async def aclose(self) -> None:
        """Run the cleanups; errors in one do not stop the others."""
        while self._cleanups:
            fn = self._cleanups.pop()
            try:
                await fn()
            except Exception:
                continue
        self.state.clear()


@runtime_checkable
class ToolSource(Protocol):
    """Something that brings several tools and must be closed (an MCP server)."""

    def tools(self) -> list[Tool]:
        """The tools it offers now (may start it)."""
        ...

    def close(self) -> None:
        """Stop it; idempotent."""
        ...
