"""`agentloop eval bfcl` end to end against the real embedded llama-server (0.5B test
model): the questions are asked with BFCL's tools and every trial is scored. Not an
accuracy threshold: the verdicts must agree with a re-check of the recorded calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentloop.cli import main
from agentloop.eval import read_results
from agentloop.eval.bfcl.checker import judge
from agentloop.eval.bfcl.data import load_category

pytestmark = pytest.mark.e2e


def test_bfcl_against_the_embedded_server(
    installed: None,
    bfcl_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("AGENTLOOP_BASE_URL", raising=False)
    monkeypatch.setenv("AGENTLOOP_EMBEDDED_MODEL", "0.5b")
    out = tmp_path / "run"
    categories = "simple_python,irrelevance"
    args = ["eval", "bfcl", "--categories", categories, "--limit", "1", "--out", str(out)]
    code = main([*args, "--no-progress", "--concurrency", "1"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    trials = {t.task_id: t for t in read_results(out / "results.jsonl")}
    assert set(trials) == {"simple_python_0", "irrelevance_0"}
    entries = {
        e.id: e for c in ("simple_python", "irrelevance") for e in load_category(bfcl_data, c, 1)
    }  # type: ignore[arg-type]
    for task_id, trial in trials.items():
        assert trial.turns == 1 and trial.stop_reason in ("completed", "max_turns")
        entry = entries[task_id]
        wire = (out / trial.transcript.replace(".json", ".wire.jsonl")).read_text().splitlines()
        request = json.loads(wire[0])["body"]
        assert [t["function"]["name"] for t in request["tools"]] == [
            f["name"].replace(".", "_") for f in entry.functions
        ]
        calls = [(c.name, json.dumps(c.arguments)) for c in trial.tool_calls]
        verdict = judge(entry.category, entry.functions, calls, entry.ground_truth)
        assert trial.passed == verdict.valid, trial.failure
    assert "simple_python" in printed and "irrelevance" in printed
    assert "recovered from text" in printed
