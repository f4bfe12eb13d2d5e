"""Item 6: `</think>` in content, whole and streamed in pieces split at awkward places."""

from __future__ import annotations

import pytest

from agentloop.backend import ThinkStream, split_think


@pytest.mark.parametrize(
    ("content", "answer", "reasoning"),
    [
        ("<think>plan</think>Answer", "Answer", "plan"),
        ("plan</think>\n\nAnswer", "Answer", "plan"),  # opening tag was in the prompt (GLM)
        ("Plain answer", "Plain answer", ""),
        ("<think>cut off mid-thought", "", "cut off mid-thought"),
    ],
)
def test_split_think(content: str, answer: str, reasoning: str) -> None:
    assert split_think(content) == (answer, reasoning)


def stream(pieces: list[str], implicit: bool) -> list[tuple[str, str]]:
    splitter = ThinkStream(implicit=implicit)
    parts = [p for piece in pieces for p in splitter.feed(piece)] + splitter.finish()
    merged: list[tuple[str, str]] = []
    for kind, text in parts:
        if merged and merged[-1][0] == kind:
            merged[-1] = (kind, merged[-1][1] + text)
        else:
            merged.append((kind, text))
    return merged


def test_tags_split_across_deltas() -> None:
    assert stream(["<th", "ink>ab", "c</thi", "nk>ans", "wer"], implicit=False) == [
        ("reasoning", "abc"),
        ("text", "answer"),
    ]


def test_implicit_opening_tag() -> None:
    assert stream(["reason", "ing</", "think>", "answer"], implicit=True) == [
        ("reasoning", "reasoning"),
        ("text", "answer"),
    ]


def test_plain_text_streams_as_text() -> None:
    assert stream(["hello ", "world"], implicit=False) == [("text", "hello world")]
