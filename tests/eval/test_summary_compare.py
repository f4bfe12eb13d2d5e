"""pass@1 / pass^k arithmetic, summary.md, and comparing two runs."""

from __future__ import annotations

from typing import Any

import pytest

from agentloop.eval.compare import compare_runs, render_comparison
from agentloop.eval.results import CallSummary, RunInfo, TrialResult
from agentloop.eval.summary import pass_hat_k, percentile, render_markdown, summarize


def trial(task: str, index: int, passed: bool, **extra: Any) -> TrialResult:
    fields: dict[str, Any] = {"category": "math", "stop_reason": "completed", "latency": 1.0}
    fields.update(extra)
    return TrialResult(
        task_id=task,
        trial=index,
        passed=passed,
        failure=None if passed else "answer_number: wanted 3",
        **fields,
    )


def test_pass_hat_k() -> None:
    assert pass_hat_k(3, 3, 3) == 1.0
    assert pass_hat_k(2, 3, 3) == 0.0
    assert pass_hat_k(2, 3, 2) == pytest.approx(1 / 3)  # C(2,2)/C(3,2)
    assert pass_hat_k(2, 4, 1) == 0.5
    assert pass_hat_k(1, 1, 3) == 1.0  # fewer trials than k (an interrupted run)
    assert pass_hat_k(0, 0, 3) == 0.0


def test_percentile() -> None:
    assert percentile([], 50) == 0.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)


def test_summarize_groups_and_counts() -> None:
    trials = [
        trial(
            "a",
            0,
            True,
            latency=1.0,
            turns=2,
            prompt_tokens=10,
            completion_tokens=5,
            tool_calls=[CallSummary(name="add", recovered=True)],
        ),
        trial("a", 1, True, latency=2.0, turns=2),
        trial(
            "b",
            0,
            True,
            latency=3.0,
            category="files",
            turns=1,
            tool_calls=[CallSummary(name="terminal", error="refused")],
        ),
        trial("b", 1, False, latency=4.0, category="files", stop_reason="max_turns", turns=5),
    ]
    s = summarize(trials, k=2)
    assert (s.overall.tasks, s.overall.trials, s.overall.passed_trials) == (2, 4, 3)
    assert s.overall.pass_at_1 == pytest.approx(0.75)
    assert s.overall.pass_hat_k == pytest.approx(0.5)
    files = next(g for g in s.categories if g.name == "files")
    assert (files.pass_at_1, files.pass_hat_k) == (0.5, 0.0)
    assert s.latency_p50 == 2.5 and s.latency_max == 4.0
    assert s.mean_turns == 2.5 and s.prompt_tokens == 10 and s.completion_tokens == 5
    assert (s.tool_calls, s.recovered_calls, s.recovered_rate) == (2, 1, 0.5)
    assert s.failed_calls == {"refused": 1}
    assert s.stop_reasons == {"completed": 3, "max_turns": 1}

    text = render_markdown(s, trials, RunInfo(tasks_file="t.jsonl", trials=2, task_count=2))
    assert "| **overall** | 2 | 4 | 3 | 75.0% | 50.0% |" in text
    assert "| files | 1 | 2 | 1 | 50.0% | 0.0% |" in text
    assert "p50 2.50 s, p95 3.85 s" in text
    assert "recovered from text: 1 (50.0%)" in text
    assert "| max_turns | 1 |" in text
    assert "| b | files | 1/2 | answer_number: wanted 3 |" in text


def test_compare_reports_better_and_worse_task_by_task() -> None:
    before = [trial("a", 0, False), trial("b", 0, True), trial("c", 0, True), trial("old", 0, True)]
    after = [trial("a", 0, True), trial("b", 0, False), trial("c", 0, True), trial("new", 0, False)]
    result = compare_runs(before, after)
    assert [c.task_id for c in result.better] == ["a"]
    assert [c.task_id for c in result.worse] == ["b"]
    assert result.unchanged == 1
    assert result.only_before == ["old"] and result.only_after == ["new"]
    text = render_comparison(result, "RUN_A", "RUN_B")
    assert text.splitlines()[0] == "pass@1: 75.0% (RUN_A) -> 50.0% (RUN_B), -25.0 points"
    assert "  a    0% -> 100%  [math]" in text
    assert "  b  100% ->   0%  [math]  (answer_number: wanted 3)" in text
    assert "Only in RUN_A: old" in text and "Only in RUN_B: new" in text
