"""Plain values that cross the backend seam: a request, a parsed reply, raw calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from agentloop.profiles import ServerKind
from agentloop.result import Usage

REJECTED = "rejected_by_server"
"""Finish reason of a reply the server's own tool-call parser refused (HTTP 500)."""

DeltaKind = Literal["text", "reasoning"]
DeltaHandler = Callable[[DeltaKind, str], Awaitable[None] | None]
RetryHandler = Callable[[int, float, str], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class RawToolCall:
    """A call as the server sent it: arguments are still a JSON string."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat-completions request, before it becomes a body.

    Attributes:
        messages: The conversation in OpenAI message format.
        tools: The `tools` list (OpenAI function entries).
        params: Extra body fields: sampling under the server's names, tool_choice, etc.
        stream: Ask for server-sent events.
        implicit_think: Stream content as reasoning until `</think>` (see `ThinkStream`).
    """

    messages: Sequence[dict[str, Any]]
    tools: Sequence[dict[str, Any]] = ()
    params: dict[str, Any] = field(default_factory=dict)
    stream: bool = True
    implicit_think: bool = False


@dataclass(frozen=True, slots=True)
class ModelReply:
    """A parsed reply.

    Attributes:
        content: The answer text, with any `<think>` part moved to `reasoning`.
        reasoning: The reasoning text.
        reasoning_field: The field the reasoning came in ("reasoning_content" or
            "reasoning"), so it can be sent back the same way; None if none came.
        tool_calls: Complete structured calls.
        truncated_calls: Calls cut off by the token limit (not to be executed).
        finish_reason: The server's finish reason ("" when it gave none).
        usage: Tokens of this reply.
        time_to_first_token: Seconds to the first streamed delta (None when not streaming).
    """

    content: str = ""
    reasoning: str = ""
    reasoning_field: str | None = None
    tool_calls: tuple[RawToolCall, ...] = ()
    truncated_calls: tuple[RawToolCall, ...] = ()
    finish_reason: str = ""
    usage: Usage = field(default_factory=Usage)
    time_to_first_token: float | None = None


class TranscriptSink(Protocol):
    """Where raw traffic goes (see `agentloop.transcript.Transcript`)."""

    def record(self, entry: dict[str, Any]) -> None:
        """Append one JSON-serialisable entry."""


class Backend(Protocol):
    """What the loop needs from a model server."""

    async def model_id(self) -> str:
        """The model id to send (configured, or discovered from the server)."""

    async def server_kind(self) -> ServerKind:
        """Which kind of server this is (configured, or detected)."""

    async def complete(
        self,
        request: ChatRequest,
        *,
        on_delta: DeltaHandler | None = None,
        on_retry: RetryHandler | None = None,
        transcript: TranscriptSink | None = None,
    ) -> ModelReply:
        """Send one request and return the parsed reply."""

    async def aclose(self) -> None:
        """Release connections."""
