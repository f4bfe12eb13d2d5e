"""docs/tools.md: every Python example runs, against a scripted OpenAI-compatible server
that asks for the call named in the `<!-- example: ... -->` line above the block, and the
tool's real result reaches the server."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from agentloop.testing import FakeOpenAIServer, FakeReply

DOC = Path(__file__).parents[2] / "docs" / "tools.md"
_EXAMPLE = re.compile(r"<!-- example: (\w+) (\{.*?\}) -> (.*?) -->\n```python\n(.*?)```", re.DOTALL)
EXAMPLES = _EXAMPLE.findall(DOC.read_text(encoding="utf-8"))


def test_every_python_block_is_an_example() -> None:
    assert len(EXAMPLES) == DOC.read_text(encoding="utf-8").count("```python") == 3


@pytest.mark.parametrize(("name", "arguments", "expected", "code"), EXAMPLES)
def test_example_runs(
    name: str,
    arguments: str,
    expected: str,
    code: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if "tools.mcp" in code:
        pytest.importorskip("mcp")
        # The published mcp-server-time is installed next to this interpreter.
        bindir = str(Path(sys.executable).parent)
        monkeypatch.setenv("PATH", bindir + os.pathsep + os.environ.get("PATH", ""))
    script = [FakeReply(tool_calls=[(name, json.loads(arguments))]), FakeReply("the answer")]
    with FakeOpenAIServer(script) as server:
        exec(
            compile(code.replace("http://127.0.0.1:8001/v1", server.base_url), str(DOC), "exec"), {}
        )
        tool_message = server.requests[1]["messages"][-1]
    assert tool_message["role"] == "tool"
    assert expected in tool_message["content"]
    assert capsys.readouterr().out.strip() == "the answer"
