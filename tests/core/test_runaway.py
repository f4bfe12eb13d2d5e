"""A reply that repeats itself is noticed in the stream and cut, on the wire."""

from __future__ import annotations

import random
import string
from pathlib import Path
from typing import Any

from agentloop import AgentConfig, run_agent
from agentloop.backend.runaway import RepetitionWatch, looping
from tests.common_tools import add_number
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


def _calls_stream(calls: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Chunks as llama-server streams parsed calls: id and name first, then the arguments."""
    chunks: list[dict[str, Any]] = []
    for index, (name, arguments) in enumerate(calls):
        head = {"index": index, "id": f"id{index}", "type": "function"}
        head["function"] = {"name": name, "arguments": "{"}
        chunks.append({"choices": [{"index": 0, "delta": {"tool_calls": [head]}}]})
        tail = {"index": index, "function": {"arguments": arguments[1:]}}
        chunks.append({"choices": [{"index": 0, "delta": {"tool_calls": [tail]}}]})
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    return chunks


def _answer(text: str) -> list[dict[str, Any]]:
    return [{"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": "stop"}]}]


def test_a_reply_that_repeats_one_call_is_cut_and_the_call_runs_once(
    llama: Any, config: AgentConfig
) -> None:
    """The 0.5B wrote `current_date` 27 times in one reply (each slower for llama-server to
    parse): the fourth repeat ends the stream, the first of each distinct call runs."""
    calls = [("add_number", '{"a": 1, "b": 2}')] + [("add_number", '{\n "a": 1, "b": 5}')] * 30
    route = llama.post(f"{BASE}/chat/completions")
    route.side_effect = [sse_from_chunks(_calls_stream(calls)), sse_from_chunks(_answer("6"))]
    result = run_agent("add", tools=[add_number], config=config)
    assert result.stop_reason == "completed" and result.output == "6"
    assert [c.arguments for c in result.tool_calls] == [{"a": 1, "b": 2}, {"a": 1, "b": 5}]


def test_a_few_equal_calls_and_many_different_ones_are_left_alone(
    llama: Any, config: AgentConfig
) -> None:
    same = [("add_number", '{"a": 1, "b": 1}')] * 3
    different = [("add_number", f'{{"a": {i}, "b": 1}}') for i in range(2, 14)]
    route = llama.post(f"{BASE}/chat/completions")
    route.side_effect = [
        sse_from_chunks(_calls_stream(same + different)),
        sse_from_chunks(_answer("done")),
    ]
    result = run_agent("add", tools=[add_number], config=config)
    assert result.stop_reason == "completed"
    assert len(result.tool_calls) == 15
