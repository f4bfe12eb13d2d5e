"""What the context manager hands back: the fitted request, and what compaction changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Applied = Literal["cap_tool_results", "drop_reasoning", "stub_tool_results", "summarise", "drop"]
"""A step that changed something ("drop": turns left out with a note, the last resort)."""


@dataclass(frozen=True, slots=True)
class Compaction:
    """What one compaction changed in what is sent (the caller's messages stay whole).

    Attributes:
        steps: The steps that changed something, in order ("drop": turns left out).
        tokens_before: Prompt tokens before.
        tokens_after: Prompt tokens after.
        messages_before: Messages before.
        messages_after: Messages after.
        capped: Tool results (or earlier user messages) cut to head and tail.
        reasoning_dropped: Assistant messages whose reasoning was left out.
        stubbed: Tool results replaced by a stub.
        summarised: Messages replaced by a summary.
        dropped: Messages left out without a summary.
    """

    steps: tuple[Applied, ...]
    tokens_before: int
    tokens_after: int
    messages_before: int
    messages_after: int
    capped: int = 0
    reasoning_dropped: int = 0
    stubbed: int = 0
    summarised: int = 0
    dropped: int = 0

    def describe(self) -> str:
        """One line for the REPL, e.g. "context 1,900 -> 850 tokens: stubbed 4 results"."""
        parts = [
            f"{label} {n}"
            for label, n in (
                ("capped", self.capped),
                ("reasoning dropped from", self.reasoning_dropped),
                ("stubbed", self.stubbed),
                ("summarised", self.summarised),
                ("left out", self.dropped),
            )
            if n
        ]
        what = ", ".join(parts) or "nothing changed"
        return f"context {self.tokens_before:,} -> {self.tokens_after:,} tokens: {what} message(s)"


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request fitted into the window.

    Attributes:
        messages: The messages to send.
        prompt_tokens: Their tokens (exact when `exact`, else the calibrated estimate).
        max_tokens: The most the reply may take; None when fitting is off.
        exact: True when the server counted the tokens.
        compaction: What was compacted for this request, if anything.
    """

    messages: list[dict[str, Any]]
    prompt_tokens: int
    max_tokens: int | None
    exact: bool
    compaction: Compaction | None = None


@dataclass(frozen=True, slots=True)
class TruncationWarning:
    """The server counted far fewer prompt tokens than were sent: it cut the conversation.

    Attributes:
        sent_tokens: Tokens sent (counted or estimated).
        reported_tokens: The `prompt_tokens` the server reported.
        message: What happened and the fix, in one sentence.
    """

    sent_tokens: int
    reported_tokens: int
    message: str
