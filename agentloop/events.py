"""Typed events of a run, delivered to `on_event` and kept on the result.

The REPL, the eval runner and the logs all consume these. Every event is a frozen
dataclass with a `kind` tag, so consumers can `match` on the type or the kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from agentloop.context import Compaction
from agentloop.errors import AgentloopError
from agentloop.result import StopReason, ToolCallRecord, Usage


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer text as it streams in."""

    turn: int
    text: str
    kind: Literal["text_delta"] = "text_delta"


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning as it streams in."""

    turn: int
    text: str
    kind: Literal["reasoning_delta"] = "reasoning_delta"


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    """A call is about to run (before approval is asked)."""

    turn: int
    call_id: str
    name: str
    arguments: dict[str, Any] | None
    raw_arguments: str
    recovered: bool
    kind: Literal["tool_call_started"] = "tool_call_started"


@dataclass(frozen=True, slots=True)
class ToolCallFinished:
    """A call has finished, failed or been refused."""

    turn: int
    record: ToolCallRecord
    kind: Literal["tool_call_finished"] = "tool_call_finished"


@dataclass(frozen=True, slots=True)
class BackendRetry:
    """A request failed in a way worth retrying; the client waits and tries again."""

    turn: int
    attempt: int
    wait: float
    error: str
    kind: Literal["backend_retry"] = "backend_retry"


@dataclass(frozen=True, slots=True)
class PromptProgress:
    """The server is reading the prompt (llama-server's `return_progress`).

    Attributes:
        processed: Prompt tokens read so far (cached ones included).
        total: Prompt tokens in all.
        cache: Prompt tokens taken from the server's cache.
    """

    turn: int
    processed: int
    total: int
    cache: int
    kind: Literal["prompt_progress"] = "prompt_progress"


@dataclass(frozen=True, slots=True)
class TurnFinished:
    """A model reply has been received and parsed (its calls not yet run).

    Attributes:
        finish_reason: The server's finish reason ("stop", "tool_calls", "length", ...).
        content: The reply's answer text.
        reasoning: The reply's reasoning text.
        tool_calls: How many calls the reply made (structured or recovered).
        usage: Tokens of this turn.
        duration: Seconds from request to the last byte.
        time_to_first_token: Seconds to the first streamed delta (None when not streaming).
    """

    turn: int
    finish_reason: str
    content: str
    reasoning: str
    tool_calls: int
    usage: Usage
    duration: float
    time_to_first_token: float | None = None
    kind: Literal["turn_finished"] = "turn_finished"


@dataclass(frozen=True, slots=True)
class ContextCompacted:
    """What is sent was compacted to fit the window (the conversation itself is whole).

    Attributes:
        compaction: What was cut, and the prompt tokens before and after.
    """

    turn: int
    compaction: Compaction
    kind: Literal["context_compacted"] = "context_compacted"


@dataclass(frozen=True, slots=True)
class RunWarning:
    """Something the user should know that did not stop the run: a server that silently
    cut the prompt, a tool whose schema the server refused (left out of the run).
    `message` says what happened and what to do."""

    turn: int
    message: str
    kind: Literal["run_warning"] = "run_warning"


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The run has ended (`error` is the typed error when it ended in a failure)."""

    stop_reason: StopReason
    turns: int
    usage: Usage
    duration: float
    output: str
    error: AgentloopError | None = None
    kind: Literal["run_finished"] = "run_finished"


Event = (
    TextDelta
    | ReasoningDelta
    | ToolCallStarted
    | ToolCallFinished
    | BackendRetry
    | PromptProgress
    | TurnFinished
    | ContextCompacted
    | RunWarning
    | RunFinished
)
"""Any event of a run."""

EventHandler = Callable[[Event], Awaitable[None] | None]
"""`on_event` callback: sync or async; called in order, on the run's event loop."""
