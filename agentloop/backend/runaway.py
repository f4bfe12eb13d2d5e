"""Noticing a reply that repeats itself, so its stream can be cut early.

Small models sometimes fall into a loop and write the same passage until the context is
full; on a CPU that is minutes of nothing. `RepetitionWatch` reads the streamed text and
fires when the tail of the reply is one passage repeated several times over.
`repeats_a_call` does the same for a reply that writes one tool call again and again
(seen with the 0.5B: 27 `current_date` calls in one reply, each slower for the server to
parse than the last).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from agentloop.backend.parse import canonical_arguments

RUNAWAY = "repetition"
"""Finish reason of a reply whose stream was cut because it kept repeating itself."""

_MIN_PERIOD = 4  # a repeated unit shorter than this is a separator line, not a loop
_MAX_PERIOD = 600
_MIN_REPEATS = 4
_MIN_SPAN = 400  # characters of repetition before anything is said
_CHECK_EVERY = 128
_KEY = 24  # the tail looked up again to find candidate periods
_KEEP = _MAX_PERIOD * (_MIN_REPEATS + 1)


class RepetitionWatch:
    """Fed the streamed text; `feed` returns True once the reply is looping.

    The reply counts as looping when its last `max(_MIN_SPAN, 4 * p)` characters repeat
    with some period p: the same passage, back to back, at least four times.
    """

    def __init__(self) -> None:
        self._tail = ""
        self._pieces: list[str] = []
        self._unchecked = 0

    def feed(self, text: str) -> bool:
        """Take the next piece of text; True when the reply has started looping."""
        self._pieces.append(text)
        self._unchecked += len(text)
        if self._unchecked < _CHECK_EVERY:
            return False
        self._tail = (self._tail + "".join(self._pieces))[-_KEEP:]
        self._pieces.clear()
        self._unchecked = 0
        return looping(self._tail)


def looping(text: str) -> bool:
    """True when the end of `text` is one passage repeated at least four times."""
    if len(text) < _MIN_SPAN + _MIN_PERIOD:
        return False
    key = text[-_KEY:]
    end = len(text) - 1
    # Only the periods at which the last few characters occur again can be loops.
    while (found := text.rfind(key, 0, end)) >= 0:
        period = len(text) - _KEY - found
        if period > _MAX_PERIOD:
            return False
        span = max(_MIN_SPAN, _MIN_REPEATS * period)
        fits = period >= _MIN_PERIOD and span + period <= len(text)
        if fits and text[-span:] == text[-span - period : -period]:
            return True
        end = found + _KEY - 1
    return False


_MAX_SAME_CALL = 3


def repeats_a_call(calls: Iterable[tuple[str, str]]) -> bool:
    """True when one call (the same name and arguments, spacing aside) has been written
    more than three times in a reply."""
    counts = Counter((name, canonical_arguments(arguments)) for name, arguments in calls)
    return any(count > _MAX_SAME_CALL for count in counts.values())
