"""`agentloop run` through `agentloop.cli.main([...])`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentloop.cli import main
from agentloop.testing import FakeOpenAIServer, FakeReply

TOOLS = ["--tools", "tests.chat.chat_tools:TOOLS"]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("BASE_URL", "MODEL", "PROFILE", "APPROVE", "TOOLS", "SYSTEM", "TRANSCRIPT"):
        monkeypatch.delenv(f"AGENTLOOP_{name}", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def test_run_prints_the_answer(capsys: pytest.CaptureFixture[str]) -> None:
    script = [FakeReply(tool_calls=[("add_number", {"a": 2, "b": 2})]), FakeReply("It is 4.")]
    with FakeOpenAIServer(script) as server:
        code = main(["run", "--base-url", server.base_url, *TOOLS, "2+2?"])
    out = capsys.readouterr()
    assert code == 0
    assert out.out == "It is 4.\n"
    assert server.requests[1]["messages"][-1] == {
        "role": "tool",
        "tool_call_id": server.requests[1]["messages"][-2]["tool_calls"][0]["id"],
        "content": "4",
    }


def test_run_json_dumps_the_whole_result(capsys: pytest.CaptureFixture[str]) -> None:
    script = [FakeReply(tool_calls=[("add_number", {"a": 1, "b": 2})]), FakeReply("3")]
    with FakeOpenAIServer(script, model="m1") as server:
        code = main(["run", "--json", "--base-url", server.base_url, *TOOLS, "1+2?"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["output"] == "3"
    assert data["stop_reason"] == "completed"
    assert data["model"] == "m1"
    assert data["turns"] == 2
    assert data["tool_calls"][0]["name"] == "add_number"
    assert data["tool_calls"][0]["output"] == "3"
    assert data["usage"]["completion_tokens"] > 0
    assert [m["role"] for m in data["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert data["error"] is None


def test_run_refuses_calls_that_need_approval_unless_auto(
    capsys: pytest.CaptureFixture[str],
) -> None:
    script = [FakeReply(tool_calls=[("python", {"code": "1"})]), FakeReply("done")]
    with FakeOpenAIServer(script) as server:
        main(["run", "--base-url", server.base_url, *TOOLS, "go"])
        refused = server.requests[1]["messages"][-1]["content"]
    with FakeOpenAIServer(script) as server:
        main(["run", "--base-url", server.base_url, *TOOLS, "--approve", "auto", "go"])
        allowed = server.requests[1]["messages"][-1]["content"]
    assert "declined" in refused
    assert allowed == "ran: 1"


def test_run_reads_environment_and_system_prompt(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAIServer([FakeReply("hi")]) as server:
        monkeypatch.setenv("AGENTLOOP_BASE_URL", server.base_url)
        monkeypatch.setenv("AGENTLOOP_SYSTEM", "Be terse.")
        assert main(["run", "--tools", "none", "hello"]) == 0
    assert server.requests[0]["messages"][0] == {"role": "system", "content": "Be terse."}
    assert "tools" not in server.requests[0] or not server.requests[0]["tools"]


def test_run_server_down_is_one_line_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAIServer() as server:
        url = server.base_url
    code = main(["run", "--base-url", url, "--tools", "none", "hello"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("agentloop run: cannot reach the model server")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_run_backend_error_exit_1_with_json_error(capsys: pytest.CaptureFixture[str]) -> None:
    bad = FakeReply(status=400, error_body={"error": {"code": 400, "message": "bad request"}})
    with FakeOpenAIServer([bad]) as server:
        code = main(["run", "--json", "--base-url", server.base_url, "--tools", "none", "x"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert data["stop_reason"] == "backend_error"
    assert data["error"]["type"] == "BackendHTTPError"
    assert "bad request" in data["error"]["message"] and data["error"]["hint"]
    assert data["messages"] == [{"role": "user", "content": "x"}], "the conversation is kept"


def test_run_unreachable_server_keeps_the_conversation_in_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["run", "--json", "--base-url", "http://127.0.0.1:9/v1", "--tools", "none", "x"])
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert code == 1 and data["stop_reason"] == "backend_error"
    assert data["error"]["type"] == "BackendUnavailable"
    assert data["messages"] == [{"role": "user", "content": "x"}]
    assert len(err.strip().splitlines()) == 1 and "cannot reach" in err


def test_run_bad_tools_spec_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--base-url", "http://127.0.0.1:9/v1", "--tools", "nosuchmod:x", "q"])
    assert code == 2
    assert "cannot import nosuchmod" in capsys.readouterr().err


def test_chat_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["chat", "--help"])
    out = capsys.readouterr().out
    for option in (
        "--base-url",
        "--model",
        "--profile",
        "--approve",
        "--system",
        "--transcript",
        "--debug",
        "--workspace",
        "--tools",
        "--load",
    ):
        assert option in out
