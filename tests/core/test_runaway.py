"""A reply that repeats itself is noticed in the stream and cut, on the wire."""

from __future__ import annotations

import random
import string
from pathlib import Path
from typing import Any

from agentloop import AgentConfig, run_agent
from agentloop.backend.runaway import RepetitionWatch, looping
from tests.core.conftest import BASE, sse_from_chunks

ROOT = Path(__file__).resolve().parents[2]


def test_a_passage_repeated_back_to_back_is_a_loop() -> None:
    assert looping("Sure. " + "I will check the answer once more. " * 16)
    assert looping("x" + "abcd" * 150)


def test_ordinary_text_is_not_a_loop() -> None:
    rng = random.Random(7)
    noise = "".join(rng.choice(string.ascii_letters + " ") for _ in range(4000))
    docs = "".join(p.read_text() for p in sorted((ROOT / "docs").glob("*.md")))
    watch = RepetitionWatch()
    assert not looping(noise)
    assert not any(watch.feed(docs[i : i + 7]) for i in range(0, len(docs), 7))
    numbers = "\n".join(f"{i}. item number {i * i}" for i in range(200))
    assert not looping(numbers), "a numbered list is not a loop"


def test_the_stream_of_a_looping_reply_is_cut(llama: Any, config: AgentConfig) -> None:
    loop = "I need to add the numbers. Let me add them. "
    chunks = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    chunks += [{"choices": [{"index": 0, "delta": {"content": loop}}]} for _ in range(500)]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
    llama.post(f"{BASE}/chat/completions").mock(return_value=sse_from_chunks(chunks))
    result = run_agent("1 + 1?", config=config)
    assert result.stop_reason == "runaway_reply"
    assert len(result.output) < 40 * len(loop), "cut early, not read to the end"
