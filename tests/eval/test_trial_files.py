"""What one trial leaves on disk: its messages file, its wire log, and no workspace."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from agentloop.config import AgentConfig
from agentloop.eval import EvalOptions, FixedTools, load_tasks, run_eval
from agentloop.testing import ScriptedBackend
from agentloop.transcript import replay
from tests.eval.helpers import TEST_TOOLS, scripted_step, task_line, write_tasks

CONFIG = AgentConfig(base_url="http://scripted.invalid/v1", max_retries=0, stream=False)


async def test_messages_file_is_json_with_one_message_per_line(tmp_path: Path) -> None:
    line = task_line("add", "add 2 3 für", [{"type": "answer_number", "value": 5}])
    outcome = await run_eval(
        load_tasks(write_tasks(tmp_path / "t.jsonl", [line])),
        [CONFIG],
        EvalOptions(out_dir=tmp_path / "o"),
        provider=FixedTools(TEST_TOOLS),
        backend_factory=lambda c: ScriptedBackend([scripted_step]),
    )
    (trial,) = outcome.trials
    text = (tmp_path / "o" / trial.transcript).read_text("utf-8")
    saved = json.loads(text)
    assert saved["task_id"] == "add" and saved["passed"] and saved["checks"][0]["passed"]
    roles = [m["role"] for m in saved["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant"]
    message_lines = [ln for ln in text.splitlines() if ln.startswith('{"role"')]
    assert [json.loads(ln.rstrip(","))["role"] for ln in message_lines] == roles
    assert "für" in text  # kept readable, not escaped


async def test_fixed_tools_make_no_workspace_unless_setup_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Path] = []
    real_mkdir = Path.mkdir

    def spy(self: Path, *args: object, **kwargs: object) -> None:
        made.append(self)
        real_mkdir(self, *args, **kwargs)  # type: ignore[arg-type]

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(Path, "mkdir", spy)
    lines = [
        task_line("plain", "say hi", [{"type": "answer_contains", "value": "hi"}]),
        task_line(
            "files", "say hi", [{"type": "file_exists", "path": "a.txt"}], setup={"a.txt": ""}
        ),
    ]
    outcome = await run_eval(
        load_tasks(write_tasks(tmp_path / "t.jsonl", lines)),
        [CONFIG],
        EvalOptions(out_dir=tmp_path / "o"),
        provider=FixedTools(TEST_TOOLS),
        backend_factory=lambda c: ScriptedBackend([scripted_step]),
    )
    assert all(t.passed for t in outcome.trials)
    workspaces = [p.name for p in made if p.parent.parent == scratch]
    assert "files.0" in workspaces and "plain.0" not in workspaces
    assert list(scratch.iterdir()) == []


async def test_a_resumed_trial_starts_a_new_wire_log(tmp_path: Path) -> None:
    line = task_line("add", "add 2 3", [{"type": "answer_number", "value": 5}])
    tasks = load_tasks(write_tasks(tmp_path / "t.jsonl", [line]))
    out = tmp_path / "o"
    stale = out / "transcripts" / "add" / "trial-0.wire.jsonl"
    stale.parent.mkdir(parents=True)
    stale.write_text('{"type": "response", "status": 200, "body": "{}"}\n')
    await run_eval(
        tasks,
        [CONFIG],
        EvalOptions(out_dir=out, resume=True),
        provider=FixedTools(TEST_TOOLS),
        backend_factory=lambda c: ScriptedBackend([scripted_step]),
    )
    kinds = [json.loads(ln)["type"] for ln in stale.read_text().splitlines()]
    assert kinds[-1] == "run_finished" and "response" not in kinds  # the stale entry is gone
    assert replay(stale) == []  # the scripted backend records no raw traffic
