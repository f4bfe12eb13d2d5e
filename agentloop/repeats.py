"""The one place that counts repeated calls and words what the model is told about them.

Small models loop in two shapes: the same call again and again (a streak), or a few calls
in turn (A, B, A, B: a cycle). Both are caught the same way — the same reply made
`limit` times in a run stops it — and the words the model reads say which shape it was.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agentloop.backend.types import RawToolCall

Signature = tuple[tuple[str, str], ...]

REPEAT_NOTE = (
    "\n(You already made this exact call in this conversation and got this result. "
    "Use it: answer the user, or call something else.)"
)


@dataclass(slots=True)
class RepeatGuard:
    """Counts the replies' calls and the single calls of one run.

    Args:
        limit: The same reply's calls this many times in a run stop it.
    """

    limit: int
    _replies: Counter[Signature] = field(default_factory=Counter)
    _history: list[Signature] = field(default_factory=list)
    _calls: Counter[Signature] = field(default_factory=Counter)

    def stops(self, calls: Sequence[RawToolCall]) -> bool:
        """Count this reply's calls; True when they have now come `limit` times."""
        sig = signature(calls)
        if not sig:
            return False
        self._replies[sig] += 1
        self._history.append(sig)
        return self._replies[sig] >= self.limit

    def refusal(self) -> str:
        """What the model is told for the calls of the reply that stopped the run."""
        times = self.limit - 1
        recent = self._history[-self.limit :]
        if len(recent) == self.limit and len(set(recent)) == 1:
            return f"Not run: you made this same call {times} times in a row already."
        return (
            f"Not run: you already made this same call {times} times in this run, "
            "alternating with other calls."
        )

    def note(self, name: str, raw_arguments: str, ok: bool) -> str:
        """Text to add to a call's result: a reminder when the run already made it."""
        sig: Signature = ((name, canonical(raw_arguments)),)
        self._calls[sig] += 1
        return REPEAT_NOTE if ok and self._calls[sig] > 1 else ""


def signature(calls: Sequence[RawToolCall]) -> Signature:
    """What makes two replies' calls "the same": names and canonical arguments."""
    return tuple(sorted((c.name, canonical(c.arguments)) for c in calls))


def canonical(arguments: str) -> str:
    """Arguments in one spelling: sorted-key JSON, or the stripped text when not JSON."""
    try:
        value: Any = json.loads(arguments or "{}")
    except ValueError:
        return arguments.strip()
    return json.dumps(value, sort_keys=True)
