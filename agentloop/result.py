"""What a run returns: the answer, why it stopped, the conversation and every call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tools import ToolErrorKind

if TYPE_CHECKING:
    from agentloop.errors import AgentloopError
    from agentloop.events import Event

StopReason = Literal[
    "completed",
    "max_turns",
    "repeated_calls",
    "cancelled",
    "backend_error",
    "context_overflow",
    "invalid_output",
    "runaway_reply",
]
"""Why a run ended: a final answer; the turn limit; a model stuck repeating one call; the
caller cancelled it; the server could not be used after retries (`RunResult.error` is the
`BackendError`); the conversation no longer fits the server's window (`ContextOverflow`);
the typed final output stayed invalid after its retries (`OutputInvalid`); the model's reply
kept repeating itself and its stream was cut ("runaway_reply")."""

CallErrorKind = ToolErrorKind | Literal["cancelled", "truncated_call"]
"""Why a call failed: the registry's reasons, or the loop's own (cancelled by the user,
cut off by the token limit)."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts, summed over turns."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
        )

    @classmethod
    def from_wire(cls, data: Any) -> Usage:
        """Read an OpenAI `usage` object (missing fields count as zero)."""
        if not isinstance(data, dict):
            return cls()
        prompt = int(data.get("prompt_tokens") or 0)
        completion = int(data.get("completion_tokens") or 0)
        return cls(prompt, completion, int(data.get("total_tokens") or prompt + completion))


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    """One executed (or refused) tool call.

    Attributes:
        call_id: The id sent back in the `role: "tool"` message.
        name: The tool name as the model wrote it.
        arguments: The parsed arguments, or None when they could not be parsed.
        raw_arguments: The arguments exactly as received.
        output: What the model was told (the result, or the error message).
        error: Why the call failed, or None when it succeeded.
        recovered: True when the call was recovered from text rather than `tool_calls`.
        turn: The turn (1-based) whose reply made the call.
        duration: Seconds the call took.
    """

    call_id: str
    name: str
    arguments: dict[str, Any] | None
    raw_arguments: str
    output: str
    error: CallErrorKind | None
    recovered: bool
    turn: int
    duration: float

    @property
    def ok(self) -> bool:
        """True when the tool ran and returned normally."""
        return self.error is None


@dataclass(frozen=True, slots=True)
class RunResult:
    """The outcome of `run_agent` / `arun_agent`.

    Attributes:
        output: The final answer text ("" when the run ended without one).
        stop_reason: Why the run ended.
        messages: The whole conversation in OpenAI message format.
        tool_calls: Every call, in order.
        usage: Tokens summed over all turns.
        events: Every event emitted during the run.
        turns: How many model replies the run used.
        model: The model id used.
        duration: Wall-clock seconds.
        error: What ended the run when it was a failure (`BackendError`, `ContextOverflow`,
            `OutputInvalid`), with `.hint` saying what to do; None otherwise.
        reasoning: The final reply's reasoning text, if any.
        final_output: The validated `output_type` instance, when the run asked for one.
    """

    output: str
    stop_reason: StopReason
    messages: list[dict[str, Any]]
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    events: list[Event] = field(default_factory=list)
    turns: int = 0
    model: str = ""
    duration: float = 0.0
    error: AgentloopError | None = None
    reasoning: str = ""
    final_output: Any = None

    @property
    def recovered_calls(self) -> int:
        """How many calls were recovered from text instead of structured `tool_calls`."""
        return sum(1 for call in self.tool_calls if call.recovered)
