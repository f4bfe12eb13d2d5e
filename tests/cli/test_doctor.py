"""`agentloop doctor`: --model, the probe's token budget, and a web page at the base URL."""

from __future__ import annotations

import pytest

from agentloop.cli import main
from agentloop.testing import FakeOpenAIServer, FakeReply
from tests.cli.conftest import RecordingServer

_CALL = FakeReply(tool_calls=[("add_number", {"a": 2, "b": 3})])


def test_doctor_probes_the_model_given(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAIServer([_CALL, _CALL], model="first") as server:
        code = main(["doctor", "--base-url", server.base_url, "--model", "second"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert {r["model"] for r in server.requests} == {"second"}
    assert "[warn] model: 'second' is not in the server's list (first)" in out
    assert "-> fix: --model first" in out


def test_doctor_without_model_names_the_one_it_probes(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAIServer([_CALL, _CALL], model="first") as server:
        assert main(["doctor", "--base-url", server.base_url]) == 0
    assert "[ok] model: first\n" in capsys.readouterr().out


def test_a_reply_cut_by_the_budget_is_not_blamed_on_the_parser(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 700 chars of thinking that does not loop (a loop would be cut as a runaway reply)
    thinking = "".join(f"Step {i}: add {i} to the total. " for i in range(30))[:700]
    cut = FakeReply(reasoning=thinking, finish_reason="length")
    with FakeOpenAIServer([cut]) as server:
        code = main(["doctor", "--base-url", server.base_url, "--max-tokens", "64"])
    out = capsys.readouterr().out
    assert code == 1
    assert server.requests[0]["max_tokens"] == 64
    [line] = [line for line in out.splitlines() if "tool calls" in line]
    assert "hit the 64-token budget after 700 chars of reasoning" in line
    assert "--jinja" not in line and "parser" in line  # says the parser is not the problem
    assert line.endswith("-> fix: give it room: agentloop doctor --max-tokens 4096")


def test_doctor_samples_like_a_run_not_at_temperature_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeOpenAIServer([_CALL, _CALL], model="qwen2.5-coder-1.5b") as server:
        assert main(["doctor", "--base-url", server.base_url]) == 0
    first = server.requests[0]
    assert first["temperature"] == 0.2  # the qwen2.5-coder profile's tool-loop setting
    assert first["max_tokens"] == 1024


def test_doctor_names_a_web_page_at_the_base_url(capsys: pytest.CaptureFixture[str]) -> None:
    with RecordingServer(html=True) as server:
        root = server.base_url.removesuffix("/v1")
        code = main(["doctor", "--base-url", root])
    out = capsys.readouterr().out
    assert code == 1
    [line] = out.splitlines()
    assert line.startswith("[fail] reachable:")
    assert "answered text/html, not JSON" in line and "ending in /v1" in line
