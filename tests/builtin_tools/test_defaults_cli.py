"""`default_tools` and the `agentloop tools` / `agentloop tool` commands."""

from __future__ import annotations

import json

import pytest

from agentloop.cli import main
from sandbox import Sandbox
from tools import ToolRegistry
from tools.builtin import BUILTIN_NAMES, REPL_APPROVALS, default_tools


async def test_default_tools_has_every_builtin() -> None:
    async with Sandbox.temporary() as box:
        tools = default_tools(box, approval_overrides=REPL_APPROVALS)
        assert [t.name for t in tools] == list(BUILTIN_NAMES)
        approvals = {t.name: t.approval for t in tools}
        assert approvals["python"] == approvals["terminal"] == "ask"
        assert approvals["calculate"] == "auto"
        ToolRegistry(tools)  # unique names
        with pytest.raises(ValueError, match="nope"):
            default_tools(box, approval_overrides={"nope": "deny"})


def test_tools_lists_schemas(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [entry["function"]["name"] for entry in listed] == list(BUILTIN_NAMES)


def test_tool_runs_and_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tool", "calculate", '{"expression": "6 * 7"}']) == 0
    result = json.loads(_json(capsys))
    assert result["ok"] and result["content"] == "42"


def test_tool_error_is_still_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tool", "calculate", '{"expression": "1/0"}']) == 0
    result = json.loads(_json(capsys))
    assert not result["ok"] and result["error"] == "tool_failed"


@pytest.mark.parametrize(
    "argv", [["tool", "nope", "{}"], ["tool", "calculate", "{bad"], ["tool", "calculate", "[1]"]]
)
def test_bad_usage_is_non_zero(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "agentloop tool:" in capsys.readouterr().err


@pytest.mark.sandbox
def test_tool_runs_python_in_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tool", "python", '{"code": "import os; os.getcwd()"}']) == 0
    result = json.loads(_json(capsys))
    assert result["ok"] and "/workspace" in result["content"]


def _json(capsys: pytest.CaptureFixture[str]) -> str:
    out = capsys.readouterr().out
    return out[out.index("{\n") :]  # after any log lines


@pytest.mark.parametrize("name", ["terminal", "calculate"])
def test_a_lone_surrogate_in_arguments_still_prints_json(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    key = "command" if name == "terminal" else "expression"
    assert main(["tool", name, json.dumps({key: "echo \ud800 \u202e"})]) == 0
    result = json.loads(_json(capsys))
    assert not result["ok"]
