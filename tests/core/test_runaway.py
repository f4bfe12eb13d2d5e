"""A reply that repeats itself is noticed in the stream and cut, on the wire."""

from __future__ import annotations

import random
import string
from pathlib import Path
from typing import Any

import pytest

from agentloop import AgentConfig, run_agent
from agentloop.backend.runaway import RepetitionWatch, looping
from agentloop.profiles import QWEN_CODER
from tests.common_tools import add_number
from tests.core.conftest import BASE, json_response, sse_from_chunks

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
    # The default profile sets no cap on calls per reply (Qwen's would cut this at 6).
    result = run_agent("add", tools=[add_number], config=config, profile="default")
    assert result.stop_reason == "completed"
    assert len(result.tool_calls) == 15


def _chain(count: int) -> list[tuple[str, str]]:
    return [("add_number", f'{{"a": {i}, "b": 1}}') for i in range(count)]


@pytest.mark.parametrize("stream", [True, False])
def test_a_reply_with_more_calls_than_the_profile_allows_runs_only_the_first(
    llama: Any, config: AgentConfig, stream: bool
) -> None:
    """The 1.5B wrote 42 calls in one reply, a chain with invented intermediate results
    (150 s): the Qwen profile's cap cuts the reply, the first calls run, and the model is
    told to make the rest after reading their results."""
    cap = QWEN_CODER.max_calls_per_reply
    assert cap is not None
    calls = _chain(40)
    if stream:
        chunks = _calls_stream(calls)
        # Read past the cut, this would end the reply as a server error.
        chunks.insert(2 * (cap + 2), {"error": {"code": 500, "message": "read too far"}})
        first = sse_from_chunks(chunks)
    else:
        wire = [
            {"id": f"id{i}", "type": "function", "function": {"name": n, "arguments": a}}
            for i, (n, a) in enumerate(calls)
        ]
        message = {"role": "assistant", "content": "", "tool_calls": wire}
        first = json_response(
            {"choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]}
        )
    route = llama.post(f"{BASE}/chat/completions")
    done = {"role": "assistant", "content": "done"}
    answer = json_response({"choices": [{"index": 0, "message": done, "finish_reason": "stop"}]})
    route.side_effect = [first, sse_from_chunks(_answer("done")) if stream else answer]
    result = run_agent("add", tools=[add_number], config=config.with_(stream=stream))
    assert result.stop_reason == "completed" and result.output == "done"
    assert [c.arguments["a"] for c in result.tool_calls] == list(range(cap))
    tool_messages = [m for m in result.messages if m["role"] == "tool"]
    assert len(tool_messages) == cap
    assert "cut after 6 calls" in tool_messages[-1]["content"]
    assert "cut after" not in tool_messages[0]["content"]


def test_a_reply_within_the_cap_is_not_cut(llama: Any, config: AgentConfig) -> None:
    route = llama.post(f"{BASE}/chat/completions")
    route.side_effect = [sse_from_chunks(_calls_stream(_chain(6))), sse_from_chunks(_answer("ok"))]
    result = run_agent("add", tools=[add_number], config=config)
    assert len(result.tool_calls) == 6
    assert not any("cut after" in m["content"] for m in result.messages if m["role"] == "tool")
