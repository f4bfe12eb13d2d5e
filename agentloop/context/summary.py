"""The summarisation request: the oldest turns, written out as text, for the model to condense.

The loop sends it (one request, with its own `max_tokens`) through a `Summariser` it
provides; this module only builds it and fits it into the window.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentloop.context.steps import cap_text

SUMMARY_SYSTEM = (
    "You condense the early part of a conversation between a user and an assistant that "
    "uses tools, so that the assistant can go on without it. Keep every fact, number, file "
    "name and result the assistant found, what was asked, and what is still to do. Only "
    "record what the conversation shows: do not answer the user's question and do not "
    "guess. Write plain sentences, no preamble."
)


@dataclass(frozen=True, slots=True)
class SummaryRequest:
    """A request for a summary.

    Attributes:
        messages: The messages to send (a system instruction and the turns as text).
        max_tokens: The most tokens the summary may take.
    """

    messages: list[dict[str, Any]]
    max_tokens: int


Summariser = Callable[[SummaryRequest], Awaitable[str]]
"""Sends a `SummaryRequest` to the model and returns the summary text (the loop provides it)."""


def summary_request(
    messages: Sequence[Mapping[str, Any]], *, window: int, chars_per_token: float
) -> SummaryRequest:
    """Build the request that summarises `messages`, fitted into `window` tokens.

    The summary gets an eighth of the window (at most 512 tokens); the turns share what
    is left, each cut to an equal share when they do not fit whole."""
    max_tokens = max(64, min(512, window // 8))
    room = int((window - max_tokens - 160) * chars_per_token * 0.9)
    lines = [_line(m) for m in messages]
    total = sum(len(line) for line in lines)
    if total > room and lines:
        share = max(200, room // len(lines))
        lines = [cap_text(line, share) for line in lines]
    text = "Summarise this part of the conversation:\n\n" + "\n\n".join(lines)
    return SummaryRequest(
        [{"role": "system", "content": SUMMARY_SYSTEM}, {"role": "user", "content": text}],
        max_tokens,
    )


def _line(message: Mapping[str, Any]) -> str:
    role = str(message.get("role", "")).upper()
    content = message.get("content")
    text = content if isinstance(content, str) else json.dumps(content) if content else ""
    calls = [
        f"{(c.get('function') or {}).get('name')}({(c.get('function') or {}).get('arguments')})"
        for c in message.get("tool_calls") or ()
    ]
    if calls:
        text = f"{text}\n(called {', '.join(calls)})".strip()
    return f"{role}: {text}"
