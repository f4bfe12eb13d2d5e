"""Plain values that cross the backend seam: a request, a parsed reply, raw calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from agentloop.profiles import ServerKind
from agentloop.result import Usage

REJECTED = "rejected_by_server"
"""Finish reason of a reply the server's own tool-call parser refused (HTTP 500)."""
CALLS_CAPPED = "calls_capped"
"""Finish reason of a reply cut after `ChatRequest.max_calls` calls."""

DeltaKind = Literal["text", "reasoning"]
DeltaHandler = Callable[[DeltaKind, str], Awaitable[None] | None]
RetryHandler = Callable[[int, float, str], Awaitable[None] | None]
ProgressHandler = Callable[[int, int, int], Awaitable[None] | None]
"""Called with (processed, total, cached) prompt tokens while the server reads the prompt."""


@dataclass(frozen=True, slots=True)
class RawToolCall:
    """A call as the server sent it: arguments are still a JSON string."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """What the loop needs to know about a server, asked once.

    Attributes:
        model: The model id sent with every request.
        kind: Which kind of server it is (sampling field names, reasoning fields).
        context_size: The context window in tokens, when the server says (None otherwise).
        capabilities: What the server is known to offer beyond chat completions:
            "props" (llama-server's /props), "tokenize" (a /tokenize endpoint),
            "response_format" (JSON-schema constrained output).
    """

    model: str
    kind: ServerKind
    context_size: int | None = None
    capabilities: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat-completions request, in agentloop's terms; the backend makes the body.

    Attributes:
        messages: The conversation in OpenAI message format.
        tools: The `tools` list (OpenAI function entries).
        sampling: Sampling settings under agentloop's names (`profiles.SAMPLING_FIELDS`);
            the backend sends each under the server's own name.
        chat_template_kwargs: Passed to the server's chat template.
        params: Other body fields sent as they are (tool_choice, response_format, ...).
        stream: Ask for server-sent events.
        think_tags: The model may write reasoning ending in `</think>` into its content;
            the backend streams such text as reasoning when the server does not split it.
        max_calls: Calls one reply may make: the stream is cut when the next one starts,
            and the reply ends with `CALLS_CAPPED` and the first `max_calls` calls (None:
            no cap).
    """

    messages: Sequence[dict[str, Any]]
    tools: Sequence[dict[str, Any]] = ()
    sampling: Mapping[str, Any] = field(default_factory=dict)
    chat_template_kwargs: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    stream: bool = True
    think_tags: bool = False
    max_calls: int | None = None


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

    async def info(self) -> BackendInfo:
        """The model, the server kind and the context size (asked once, then cached)."""

    async def complete(
        self,
        request: ChatRequest,
        *,
        on_delta: DeltaHandler | None = None,
        on_retry: RetryHandler | None = None,
        transcript: TranscriptSink | None = None,
        on_progress: ProgressHandler | None = None,
    ) -> ModelReply:
        """Send one request and return the parsed reply."""

    async def count_tokens(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
        chat_template_kwargs: Mapping[str, Any],
    ) -> int | None:
        """Prompt tokens of this request, counted by the server; None when it cannot."""

    async def aclose(self) -> None:
        """Release connections."""
