"""One test per command-line rough edge of issue 12, each through `main([...])`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from agentloop import __version__
from agentloop.chat.toolset import load_toolset
from agentloop.cli import build_parser, main
from agentloop.eval.toolsets import load_user_tools as eval_user_tools
from agentloop.testing import FakeOpenAIServer, FakeReply
from tests.cli.conftest import RecordingServer

FIXTURE_TOOLS = "tests.cli.user_tools_fixture"


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"agentloop {__version__}"


def _help(*command: str) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([*command, "--help"])


@pytest.mark.parametrize("command", ["chat", "run", "eval", "doctor", "serve"])
def test_help_texts_use_port_8001(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    _help(command)
    text = capsys.readouterr().out
    assert "8080" not in text
    if command in ("chat", "run", "serve"):
        assert "8001" in text


def test_run_approve_help_says_it_never_asks(capsys: pytest.CaptureFixture[str]) -> None:
    _help("run")
    run_help = " ".join(capsys.readouterr().out.split())
    _help("chat")
    chat_help = " ".join(capsys.readouterr().out.split())
    assert "ask on a terminal" not in run_help
    assert "never asks" in run_help
    assert "ask on a terminal" in chat_help


def _authorization(server: RecordingServer) -> set[str]:
    lowered = [{k.lower(): v for k, v in headers.items()} for _, headers, _ in server.seen]
    return {headers.get("authorization", "") for headers in lowered}


def test_run_sends_the_api_key(capsys: pytest.CaptureFixture[str]) -> None:
    with RecordingServer() as server:
        code = main(["run", "--base-url", server.base_url, "--api-key", "sekrit", "2+2?"])
    assert code == 0, capsys.readouterr().err
    assert _authorization(server) == {"Bearer sekrit"}


def test_chat_sends_the_api_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("2+2?\n"))
    with RecordingServer() as server:
        code = main(["chat", "--base-url", server.base_url, "--api-key", "sekrit"])
    assert code == 0, capsys.readouterr().err
    assert capsys.readouterr().out == "4\n"
    assert _authorization(server) == {"Bearer sekrit"}


def test_eval_sends_the_api_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tasks = tmp_path / "t.jsonl"
    task = {"id": "t", "category": "c", "prompt": "2+2?", "tools": []}
    task["checks"] = [{"type": "answer_contains", "value": "4"}]
    tasks.write_text(json.dumps(task) + "\n")
    with RecordingServer() as server:
        argv = ["eval", str(tasks), "--base-url", server.base_url, "--api-key", "sekrit"]
        code = main([*argv, "--out", str(tmp_path / "out"), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert _authorization(server) == {"Bearer sekrit"}


@pytest.mark.parametrize(
    ("flag", "sent", "not_sent"),
    [
        ([], "repeat_penalty", "repetition_penalty"),
        (["--server-kind", "vllm"], "repetition_penalty", "repeat_penalty"),
    ],
)
def test_server_kind_overrides_detection(
    flag: list[str], sent: str, not_sent: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAIServer([FakeReply("4")], kind="llama", model="qwen2.5-coder") as server:
        code = main(["run", "--base-url", server.base_url, "--tools", "none", *flag, "2+2?"])
    assert code == 0, capsys.readouterr().err
    body = server.requests[0]
    assert sent in body
    assert not_sent not in body


def test_bad_server_kind_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["run", "--server-kind", "ollama", "hi"])
    assert stop.value.code == 2
    assert "invalid choice: 'ollama'" in capsys.readouterr().err


def test_bad_fail_under_says_what_a_rate_looks_like(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["eval", "tasks.jsonl", "--fail-under", "most"])
    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert "_rate" not in err
    assert "give a pass rate such as 0.8 or 80%, not 'most'" in err


def test_tools_lists_user_tools(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["tools", "--tools", f"{FIXTURE_TOOLS}:make_tools"])
    out = capsys.readouterr().out
    assert code == 0
    names = [line.split(":")[0] for line in out.splitlines() if not line.startswith(" ")]
    assert names == ["whisper", "shout"]
    assert "Upper-case a text." in out


def test_tools_json_lists_user_tools(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "--json", "--tools", f"{FIXTURE_TOOLS}:shout"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["function"]["name"] == "shout"
    assert entry["function"]["parameters"]["required"] == ["text"]


def test_tools_with_a_bad_spec_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "--tools", "no_such_module:x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("agentloop tools: cannot import no_such_module for --tools")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("attr", "names"),
    [
        ("shout", ["shout"]),  # a plain function becomes a tool
        ("whisper", ["whisper"]),  # a Tool
        ("make_tools", ["whisper", "shout"]),  # a factory of no arguments
    ],
)
def test_module_attr_means_the_same_in_chat_run_and_eval(
    attr: str, names: list[str], tmp_path: Path
) -> None:
    spec = f"{FIXTURE_TOOLS}:{attr}"
    chat_names = load_toolset(spec, tmp_path).registry.names()
    eval_names = [t.name for t in eval_user_tools(spec)]
    assert chat_names == eval_names == names


def test_a_factory_returning_no_tools_is_refused_alike(tmp_path: Path) -> None:
    from agentloop.errors import ConfigError

    spec = f"{FIXTURE_TOOLS}:not_tools"
    with pytest.raises(ConfigError, match="returned no tools"):
        load_toolset(spec, tmp_path)
    with pytest.raises(ValueError, match="returned no tools"):
        eval_user_tools(spec)


def test_html_at_the_base_url_is_one_line_from_run(capsys: pytest.CaptureFixture[str]) -> None:
    with RecordingServer(html=True) as server:
        root = server.base_url.removesuffix("/v1")
        code = main(["run", "--base-url", root, "--tools", "none", "hi"])
    err = capsys.readouterr().err
    assert code == 1
    [line] = err.splitlines()
    assert "answered text/html, not JSON" in line
    assert "ending in /v1" in line


def test_html_at_the_base_url_is_one_line_in_the_chat(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("hi\n"))
    with RecordingServer(html=True) as server:
        root = server.base_url.removesuffix("/v1")
        main(["chat", "--base-url", root, "--tools", "none"])
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if line.startswith("error:")]
    assert "answered text/html, not JSON" in line and "ending in /v1" in line
    assert "Traceback" not in err and "JSONDecodeError" not in err
