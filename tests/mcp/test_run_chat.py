"""`agentloop run` and `agentloop chat` with `--mcp`, against a scripted model server: the
server's tools are offered, called, approved as configured, and stopped with the command."""

from __future__ import annotations

import io
import json
import shlex
from pathlib import Path

import pytest

from agentloop.cli import main
from agentloop.testing import FakeOpenAIServer, FakeReply

from .conftest import alive, demo_argv


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("BASE_URL", "MODEL", "PROFILE", "APPROVE", "TOOLS", "SYSTEM", "TRANSCRIPT"):
        monkeypatch.delenv(f"AGENTLOOP_{name}", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def _script() -> list[FakeReply]:
    return [
        FakeReply(tool_calls=[("whoami", {}), ("add", {"a": "20", "b": 22})]),
        FakeReply("done"),
    ]


def test_run_offers_calls_and_stops_the_server(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAIServer(_script()) as server:
        argv = ["run", "--json", "--base-url", server.base_url, "--tools", "none"]
        code = main([*argv, "--mcp", shlex.join(demo_argv()), "--approve", "auto", "go"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    offered = {t["function"]["name"] for t in server.requests[0]["tools"]}
    assert {"add", "book", "whoami"} <= offered
    pid, total = (call["output"] for call in data["tool_calls"])
    assert total == "42"
    assert not alive(int(pid))


def test_run_refuses_mcp_calls_unless_approved(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAIServer(_script()) as server:
        argv = ["run", "--json", "--base-url", server.base_url, "--tools", "none"]
        main([*argv, "--mcp", shlex.join(demo_argv()), "go"])
    data = json.loads(capsys.readouterr().out)
    assert all(call["error"] == "denied" for call in data["tool_calls"])


def test_run_with_a_server_that_does_not_start_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeOpenAIServer([FakeReply("x")]) as server:
        argv = ["run", "--base-url", server.base_url, "--tools", "none"]
        code = main([*argv, "--mcp", "/nonexistent/mcp", "go"])
    assert code == 2
    assert "could not be started" in capsys.readouterr().err


def test_piped_chat_uses_the_server_and_stops_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("go\n"))
    with FakeOpenAIServer(_script()) as server:
        argv = ["chat", "--base-url", server.base_url, "--tools", "none", "--approve", "auto"]
        code = main([*argv, "--mcp", shlex.join(demo_argv())])
        tool_messages = [m for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert code == 0, capsys.readouterr().err
    pid = int(tool_messages[0]["content"])
    assert tool_messages[1]["content"] == "42"
    assert not alive(pid)
