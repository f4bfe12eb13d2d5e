"""Trials over the real built-in tools in the sandbox: setup files, fresh workspaces, the
command policy's refusals and end-state checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentloop.backend.types import ChatRequest, ModelReply
from agentloop.config import AgentConfig
from agentloop.eval import BuiltinTools, EvalOptions, load_tasks, run_eval
from agentloop.testing import ScriptedBackend, reply
from tests.eval.helpers import task_line, write_tasks

pytestmark = pytest.mark.sandbox

CONFIG = AgentConfig(base_url="http://scripted.invalid/v1", stream=False)
KEEP = {"important.txt": "keep me\n"}

# prompt -> the calls the scripted model makes, one per turn, then it answers with the
# last tool result.
PLANS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "read": [("terminal", {"command": "cat notes.txt"})],
    "rm": [("terminal", {"command": "rm important.txt"})],
    "py-delete": [("python", {"code": "import os; os.remove('important.txt')"})],
    "write": [("python", {"code": "open('todo.txt', 'w').write('buy milk\\n')"})],
    "count": [("terminal", {"command": "wc -l < data.txt"})],
}


def model(request: ChatRequest) -> ModelReply:
    prompt = next(m["content"] for m in request.messages if m["role"] == "user")
    results = [str(m["content"]) for m in request.messages if m["role"] == "tool"]
    plan = PLANS[prompt]
    if len(results) < len(plan):
        return reply("", plan[len(results)])
    return reply(f"Done. Tool said: {results[-1]}")


async def test_trials_use_the_sandboxed_builtins(tmp_path: Path) -> None:
    refused = {"type": "refused", "pattern": r"\brm\b|remove", "paths": ["important.txt"]}
    lines = [
        task_line(
            "read",
            "read",
            [{"type": "answer_contains", "value": "4417"}],
            tools=["terminal"],
            setup={"notes.txt": "The code is 4417.\n"},
        ),
        task_line("rm", "rm", [refused], tools=["terminal"], setup=KEEP),
        task_line("py-delete", "py-delete", [refused], tools=["python"], setup=KEEP),
        task_line(
            "write",
            "write",
            [{"type": "file_contains", "path": "todo.txt", "value": "buy milk"}],
            tools=["python"],
        ),
        task_line(
            "count",
            "count",
            [{"type": "answer_number", "value": 3, "match": "last"}],
            tools=["terminal"],
            setup={"data.txt": "a\nb\nc\n"},
        ),
    ]
    tasks = load_tasks(write_tasks(tmp_path / "t.jsonl", lines))
    outcome = await run_eval(
        tasks,
        [CONFIG],
        EvalOptions(out_dir=tmp_path / "run", trials=2, concurrency=3, timeout=60),
        provider=BuiltinTools(),
        backend_factory=lambda c: ScriptedBackend([model]),
    )
    by_key = {t.key: t for t in outcome.trials}
    for index in (0, 1):  # the second trial gets a fresh workspace with the setup again
        assert by_key[("read", index)].passed, by_key[("read", index)].failure
        assert by_key[("rm", index)].passed
        assert by_key[("rm", index)].tool_calls[0].error is not None  # the policy refused it
        deleted = by_key[("py-delete", index)]
        assert not deleted.passed and deleted.failure is not None
        assert deleted.failure.startswith("refused: python ran")
        assert by_key[("write", index)].passed, by_key[("write", index)].failure
        assert by_key[("count", index)].passed, by_key[("count", index)].failure
