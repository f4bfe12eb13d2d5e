"""What the user chooses about the context: whether to compact, how, and how much room to keep."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agentloop.errors import ConfigError

Step = Literal["cap_tool_results", "drop_reasoning", "stub_tool_results", "summarise"]
"""One compaction step. Applied in the order of `ContextPolicy.steps`:

- ``cap_tool_results``: each tool result (and each earlier user message) longer than
  `ContextPolicy.tool_result_share` of the window keeps its head and tail, with a marker
  saying how much was cut.
- ``drop_reasoning``: assistant reasoning before the latest user message is left out
  (GLM-4.7 needs only the reasoning of the tool loop in progress).
- ``stub_tool_results``: the oldest tool results become a one-line stub.
- ``summarise``: the oldest turns are replaced by a summary the model writes (one request
  with its own budget); without it, or when it fails, they are left out with a note.
"""

STEPS: tuple[Step, ...] = ("cap_tool_results", "drop_reasoning", "stub_tool_results", "summarise")
"""The default order of the compaction steps."""


@dataclass(frozen=True, slots=True)
class ContextPolicy:
    """How requests are fitted into the context window.

    Attributes:
        enabled: Fit every request before it is sent. Off: messages go out as they are
            and an overflow is the server's error.
        steps: The compaction steps to use, in order (see `Step`).
        tool_result_share: The largest share of the window one tool result may take.
        reply_reserve: Tokens kept free for the reply; None means a quarter of the
            window, at most 2,048.
        target_share: After a compaction the prompt takes at most this share of the
            prompt budget, so the next compaction is many turns away (the server's prompt
            cache keeps working in between).
        keep_recent: Assistant turns (with their tool results) at the end that are never
            stubbed or summarised.
    """

    enabled: bool = True
    steps: tuple[Step, ...] = STEPS
    tool_result_share: float = 0.25
    reply_reserve: int | None = None
    target_share: float = 0.6
    keep_recent: int = 1

    def __post_init__(self) -> None:
        unknown = [s for s in self.steps if s not in STEPS]
        if unknown:
            raise ConfigError(f"unknown compaction step(s): {', '.join(map(str, unknown))}")
        if not 0.0 < self.tool_result_share <= 1.0:
            raise ConfigError("tool_result_share must be in (0, 1]")
        if not 0.1 <= self.target_share <= 1.0:
            raise ConfigError("target_share must be in [0.1, 1]")
        if self.reply_reserve is not None and self.reply_reserve < 1:
            raise ConfigError("reply_reserve must be at least 1 token")
        if self.keep_recent < 1:
            raise ConfigError("keep_recent must be at least 1")

    @classmethod
    def off(cls) -> ContextPolicy:
        """No fitting at all: every request goes out as the conversation is."""
        return cls(enabled=False)

    def uses(self, step: Step) -> bool:
        """True when `step` is one of this policy's steps."""
        return step in self.steps
