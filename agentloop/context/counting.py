"""Counting the tokens of a request: by the server when it can, else a calibrated estimate.

The estimate is characters divided by a characters-per-token ratio, plus a few tokens of
template framing per message. The ratio starts conservative (it over-counts ordinary text)
and is corrected from the exact counts the server gives: its `/tokenize` answer, and the
`prompt_tokens` every reply reports.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

Message = Mapping[str, Any]

REASONING_FIELDS = ("reasoning_content", "reasoning")
"""Where an assistant message keeps its reasoning (llama-server / vLLM)."""

PER_MESSAGE = 5
"""Template framing per message (role markers, separators), in tokens."""

PER_REQUEST = 8
"""Framing of the whole request (generation prompt, tool-section header), in tokens."""

INITIAL_CHARS_PER_TOKEN = 3.0
"""Before any calibration: English runs ~4 characters per token, code and JSON ~3;
starting low over-counts, which is the safe side."""

_RATIO_BOUNDS = (1.0, 8.0)


class TokenCounter(Protocol):
    """Counts the prompt tokens of a request exactly (the server's tokenizer and template)."""

    async def count(
        self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]]
    ) -> int | None:
        """Prompt tokens of these messages and tools; None when the server cannot say."""


def message_chars(message: Message) -> int:
    """Characters of one message as the template will render them (roughly)."""
    total = _text_chars(message.get("content"))
    for key in REASONING_FIELDS:
        total += _text_chars(message.get(key))
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        total += len(str(function.get("name") or "")) + len(str(function.get("arguments") or ""))
        total += 16
    return total


def tools_chars(tools: Sequence[Mapping[str, Any]]) -> int:
    """Characters of the tool definitions as a template renders them (their JSON)."""
    return len(json.dumps(list(tools), separators=(",", ":"))) if tools else 0


def _text_chars(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value)
    return len(json.dumps(value))  # content parts


class EstimateCounter:
    """A characters-per-token estimate, corrected by exact counts as they arrive.

    Attributes:
        chars_per_token: The current ratio.
        calibrations: How many exact counts have corrected it.
    """

    def __init__(self, chars_per_token: float = INITIAL_CHARS_PER_TOKEN) -> None:
        self.chars_per_token = chars_per_token
        self.calibrations = 0

    def tokens_for_chars(self, chars: int) -> int:
        """Tokens of `chars` characters of text."""
        return math.ceil(chars / self.chars_per_token)

    def chars_for_tokens(self, tokens: int) -> int:
        """Characters that make about `tokens` tokens (rounded down: the safe side)."""
        return int(tokens * self.chars_per_token)

    def message_tokens(self, message: Message) -> int:
        """Tokens one message takes, framing included."""
        return self.tokens_for_chars(message_chars(message)) + PER_MESSAGE

    def count(self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]]) -> int:
        """Estimated prompt tokens of a request."""
        chars = sum(message_chars(m) for m in messages) + tools_chars(tools)
        return self.tokens_for_chars(chars) + PER_MESSAGE * len(messages) + PER_REQUEST

    def implied_ratio(
        self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]], exact: int
    ) -> float:
        """The characters-per-token ratio that would have given `exact` for this request."""
        chars = sum(message_chars(m) for m in messages) + tools_chars(tools)
        text_tokens = exact - PER_MESSAGE * len(messages) - PER_REQUEST
        return chars / max(1, text_tokens)

    def calibrate(
        self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]], exact: int
    ) -> None:
        """Move the ratio towards the one an exact count of this request implies.

        Small requests say little about the ratio (framing dominates) and are ignored."""
        if exact < 64:
            return
        implied = min(
            max(self.implied_ratio(messages, tools, exact), _RATIO_BOUNDS[0]), _RATIO_BOUNDS[1]
        )
        weight = 1.0 if self.calibrations == 0 else 0.5
        self.chars_per_token += weight * (implied - self.chars_per_token)
        self.calibrations += 1
