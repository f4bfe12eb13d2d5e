"""Items 10 and 11: raw traffic kept as JSONL and replayable; logs without content."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from agentloop import AgentConfig, run_agent
from agentloop.logs import configure
from agentloop.transcript import read_entries, replay
from tests.common_tools import add_number
from tests.core.conftest import BASE, json_response, recording, sse_response


def test_transcript_keeps_requests_and_raw_sse_and_replays(
    llama: Any, config: AgentConfig, tmp_path: Path
) -> None:
    raw_stream = recording("qwen2.5-coder-1.5b", "e_parallel_stream.sse")
    llama.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            sse_response(raw_stream),
            json_response(recording("qwen2.5-coder-1.5b", "d_loop_round2.response.json")),
        ]
    )
    path = tmp_path / "runs" / "t.jsonl"
    live = run_agent("2+3, 10+20", tools=[add_number], config=config, transcript=path)
    entries = list(read_entries(path))
    kinds = [e["type"] for e in entries]
    assert kinds == ["request", "sse", "request", "response", "run_finished"]
    assert entries[0]["body"]["messages"][-1]["content"] == "2+3, 10+20"
    # byte for byte: the SSE lines are the recorded lines
    assert "\n".join(entries[1]["lines"]).strip() == raw_stream.decode().strip().replace(
        "\r\n", "\n"
    )
    assert entries[4]["type"] == "run_finished" and entries[4]["messages"] == live.messages
    replayed = replay(path)
    assert [(c.name, json.loads(c.arguments)) for c in replayed[0].tool_calls] == [
        ("add_number", {"a": 2, "b": 3}),
        ("add_number", {"a": 10, "b": 20}),
    ]
    assert replayed[1].content == "6912"  # a JSON body served to a streaming request is still read


def test_logs_have_dotted_events_and_no_content(
    llama: Any, config: AgentConfig, caplog: pytest.LogCaptureFixture
) -> None:
    llama.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            json_response({"error": {"message": "busy"}}, status=503),
            json_response(recording("qwen2.5-coder-1.5b", "d_loop_round1.response.json")),
            json_response(recording("qwen2.5-coder-1.5b", "d_loop_round2.response.json")),
        ]
    )
    with caplog.at_level(logging.DEBUG, logger="agentloop"):
        run_agent("SECRET-PROMPT 1234 + 5678", tools=[add_number], config=config, stream=False)
    text = caplog.text
    assert "event='backend.retry'" in text and "event='run.finished'" in text
    assert "SECRET-PROMPT" not in text and "5678" not in text and "6912" not in text


def test_nothing_is_printed_unless_logging_is_configured(
    llama: Any, config: AgentConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    llama.post(f"{BASE}/chat/completions").mock(
        return_value=json_response(recording("qwen2.5-coder-0.5b", "a_plain_chat.response.json"))
    )
    run_agent("hi", config=config, stream=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    import io

    stream = io.StringIO()
    configure("INFO", stream=stream)
    try:
        run_agent("hi", config=config, stream=False)
    finally:
        configure("WARNING")
    assert "run.finished" in stream.getvalue()
