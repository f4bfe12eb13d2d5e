"""Split `<think>…</think>` reasoning out of content, whole or while it streams."""

from __future__ import annotations

from typing import Literal

OPEN = "<think>"
CLOSE = "</think>"

Part = tuple[Literal["text", "reasoning"], str]


def split_think(content: str) -> tuple[str, str]:
    """Return (answer, reasoning) for a whole content string.

    Handles `<think>R</think>A`, and `R</think>A` where the opening tag was part of the
    prompt (GLM-4.7 without a reasoning parser). Content without `</think>` is all answer.
    """
    if CLOSE not in content:
        stripped = content.lstrip()
        if stripped.startswith(OPEN):  # cut off mid-thought: all reasoning
            return "", stripped[len(OPEN) :].strip()
        return content, ""
    reasoning, _, answer = content.partition(CLOSE)
    reasoning = reasoning.strip()
    if reasoning.startswith(OPEN):
        reasoning = reasoning[len(OPEN) :].strip()
    return answer.lstrip(), reasoning


class ThinkStream:
    """Classifies streamed content pieces as answer text or reasoning.

    Text that may be the start of a tag is held back until the next piece decides it, so
    a tag split across deltas is still recognised. With `implicit=True` (models whose
    prompt opens the thought), text is reasoning until `</think>`; the final split of the
    whole content (`split_think`) remains the authority for the stored message.
    """

    def __init__(self, *, implicit: bool = False) -> None:
        self._mode: Literal["undecided", "reasoning", "text"] = "undecided"
        self._implicit = implicit
        self._pending = ""

    def feed(self, piece: str) -> list[Part]:
        """Classify the next piece of content."""
        self._pending += piece
        out: list[Part] = []
        while self._pending:
            if self._mode == "undecided" and not self._decide():
                break
            if self._mode == "text":
                out.append(("text", self._pending))
                self._pending = ""
                break
            if not self._drain_reasoning(out):
                break
        return [part for part in out if part[1]]

    def finish(self) -> list[Part]:
        """Flush what was held back at the end of the stream."""
        rest, self._pending = self._pending, ""
        if not rest:
            return []
        return [("reasoning" if self._mode == "reasoning" else "text", rest)]

    def _decide(self) -> bool:
        stripped = self._pending.lstrip()
        if not stripped:
            return False
        if stripped.startswith(OPEN):
            self._mode, self._pending = "reasoning", stripped[len(OPEN) :]
            return True
        if OPEN.startswith(stripped):
            return False  # could still become "<think>"
        self._mode = "reasoning" if self._implicit else "text"
        return True

    def _drain_reasoning(self, out: list[Part]) -> bool:
        """Emit reasoning up to `</think>`; True if text follows and the loop should go on."""
        index = self._pending.find(CLOSE)
        if index >= 0:
            out.append(("reasoning", self._pending[:index]))
            self._pending = self._pending[index + len(CLOSE) :].lstrip()
            self._mode = "text"
            return True
        keep = _partial_suffix(self._pending, CLOSE)
        out.append(("reasoning", self._pending[: len(self._pending) - keep]))
        self._pending = self._pending[len(self._pending) - keep :]
        return False


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class CallMarkupGate:
    """Holds back streamed text from the first `<tool_call>` on.

    Such text is a call the loop will recover and show as a call; streaming its raw
    markup to a terminal first would only be noise. The stored reply keeps everything.
    """

    TAG = "<tool_call>"

    def __init__(self) -> None:
        self._pending = ""
        self._closed = False

    def feed(self, piece: str) -> str:
        """The part of `piece` that can be shown now."""
        if self._closed:
            return ""
        text = self._pending + piece
        index = text.find(self.TAG)
        if index >= 0:
            self._closed, self._pending = True, ""
            return text[:index]
        keep = _partial_suffix(text, self.TAG)
        self._pending = text[len(text) - keep :]
        return text[: len(text) - keep]

    def finish(self) -> str:
        """What was held back, if it turned out not to be a call."""
        rest, self._pending = ("" if self._closed else self._pending), ""
        return rest
