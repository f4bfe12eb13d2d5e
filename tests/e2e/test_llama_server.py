"""agentloop against a real llama-server (Qwen2.5-Coder 0.5B, temperature 0)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from agentloop import (
    AgentConfig,
    BackendUnavailable,
    ContextOverflow,
    Event,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    arun_agent,
    tool,
)
from agentloop.server import LlamaServer
from tests.common_tools import add_number

from .conftest import settings_or_skip

pytestmark = pytest.mark.e2e

GREEDY = {"temperature": 0, "seed": 42}


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city.

    Args:
        city: The city's name.
    """
    return f"sunny, 21 C in {city}"


async def test_plain_chat(base_url: str) -> None:
    result = await arun_agent(
        "Reply with exactly these words: hello world", base_url=base_url, sampling=GREEDY
    )
    assert result.stop_reason == "completed"
    assert "hello" in result.output.lower()
    assert result.tool_calls == []
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0


async def test_tool_round_trip_reaches_the_correct_answer(base_url: str) -> None:
    result = await arun_agent(
        "What is 1234 + 5678?",
        tools=[add_number],
        base_url=base_url,
        sampling=GREEDY,
        stream=False,
    )
    assert result.stop_reason == "completed", result.messages
    assert "6912" in result.output
    [call] = result.tool_calls
    assert call.name == "add_number" and call.arguments == {"a": 1234, "b": 5678}
    assert not call.recovered, "the fenced template must give structured tool_calls"
    roles = [m["role"] for m in result.messages]
    assert roles == ["system", "user", "assistant", "tool", "assistant"], (
        "the profile's prompt first"
    )


async def test_streamed_tool_call_arrives_structured(base_url: str) -> None:
    events: list[Event] = []
    result = await arun_agent(
        "What is the weather in Paris?",
        tools=[get_weather],
        base_url=base_url,
        sampling=GREEDY,
        stream=True,
        on_event=events.append,
    )
    assert result.stop_reason == "completed"
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert [e.name for e in started] == ["get_weather"]
    assert len(finished) == 1
    assert result.tool_calls[0].arguments == {"city": "Paris"}
    assert not result.tool_calls[0].recovered
    assert any(isinstance(e, TextDelta) for e in events), "the answer streams as text deltas"
    assert "sunny" in result.output.lower()


async def test_context_overflow_is_reported_clearly(base_url: str) -> None:
    too_long = "lorem ipsum dolor sit amet " * 1200  # ~6,000 tokens > 4,096
    result = await arun_agent(too_long, base_url=base_url, sampling=GREEDY)
    assert result.stop_reason == "context_overflow"
    assert isinstance(result.error, ContextOverflow)
    assert "context" in result.error.message.lower()
    assert "4096" in result.error.message, "the message names the server's context size"
    assert result.messages[0]["content"] == too_long, "the conversation is kept"


async def test_server_killed_mid_run_gives_a_clear_error_and_keeps_the_transcript(
    own_server: LlamaServer, tmp_path: Path
) -> None:
    pid = own_server.pid
    assert pid is not None

    @tool
    def add_and_crash(a: float, b: float) -> float:
        """Add two numbers and return the sum.

        Args:
            a: The first addend.
            b: The second addend.
        """
        os.kill(pid, signal.SIGKILL)
        return a + b

    transcript = tmp_path / "run.jsonl"
    config = AgentConfig(base_url=own_server.base_url, max_retries=1, retry_max_wait=0.2)
    result = await arun_agent(
        "What is 1234 + 5678?",
        tools=[add_and_crash],
        config=config,
        sampling=GREEDY,
        transcript=transcript,
    )
    assert result.stop_reason == "backend_error"
    assert isinstance(result.error, BackendUnavailable)
    assert own_server.base_url in str(result.error) or "connect" in str(result.error).lower()
    assert [c.name for c in result.tool_calls] == ["add_and_crash"]
    assert result.messages[-1]["role"] == "tool" and result.messages[-1]["content"] == "6912"
    entries = [json.loads(line) for line in transcript.read_text().splitlines()]
    kinds = [e.get("type") for e in entries]
    assert kinds[:3] == ["request", "sse", "request"], "both requests and the streamed reply"
    assert entries[-1]["type"] == "run_finished"
    assert entries[-1]["messages"][-1]["content"] == "6912", "the transcript keeps the run"


async def test_call_recovered_from_text_with_the_native_template(tmp_path: Path) -> None:
    settings = settings_or_skip("0.5b", native_template=True, log_file=tmp_path / "native.log")
    with LlamaServer(settings) as server:
        result = await arun_agent(
            "What is 1234 + 5678?",
            tools=[add_number],
            base_url=server.base_url,
            sampling=GREEDY,
            max_turns=1,
        )
        raw = await _raw_completion(server.base_url, "What is 1234 + 5678?")
    assert raw["message"].get("tool_calls") in (None, []), "native template: no structured calls"
    assert "add_number" in raw["message"]["content"]
    assert result.recovered_calls == 1
    [call] = result.tool_calls
    assert call.recovered and call.name == "add_number"
    assert call.arguments == {"a": 1234, "b": 5678}
    talk = [m for m in result.messages if m["role"] != "system"]  # the profile's prompt first
    assert talk[2] == {
        "role": "tool",
        "tool_call_id": talk[1]["tool_calls"][0]["id"],
        "content": "6912",
    }


async def test_parallel_calls_with_the_1_5b_model(tmp_path: Path) -> None:
    settings = settings_or_skip("1.5b", log_file=tmp_path / "server.log")
    with LlamaServer(settings) as server:
        result = await arun_agent(
            "What is 2 + 3 and what is 4 + 5? Use add_number for each sum.",
            tools=[add_number],
            base_url=server.base_url,
            sampling=GREEDY,
            max_turns=2,
        )
    first_turn = [c for c in result.tool_calls if c.turn == 1]
    assert len(first_turn) == 2, result.messages
    assert {(c.arguments or {}).get("a") for c in first_turn} == {2, 4}
    tool_messages = [m for m in result.messages if m["role"] == "tool"]
    talk = [m for m in result.messages if m["role"] != "system"]  # the profile's prompt first
    ids = [c["id"] for c in talk[1]["tool_calls"]]
    assert [m["tool_call_id"] for m in tool_messages[:2]] == ids, "one result per call, in order"
    assert [m["content"] for m in tool_messages[:2]] == ["5", "9"]


async def _raw_completion(base_url: str, prompt: str) -> dict[str, Any]:
    """One non-streamed completion with add_number offered, straight over HTTP."""
    import urllib.request

    body = {
        "messages": [{"role": "user", "content": prompt}],
        "tools": [add_number.definition.to_openai()],
        **GREEDY,
    }
    request = urllib.request.Request(
        f"{base_url}/chat/completions",
        json.dumps(body).encode(),
        {"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        choice: dict[str, Any] = json.load(response)["choices"][0]
        return choice
