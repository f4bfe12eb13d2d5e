"""BFCL through the normal eval runner: tools as offered, one turn, scored per category,
calls recovered from text counted; and `agentloop eval bfcl` from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentloop.backend.types import ChatRequest, ModelReply
from agentloop.cli import main
from agentloop.config import AgentConfig
from agentloop.errors import ConfigError
from agentloop.eval import EvalOptions, run_eval
from agentloop.eval.bfcl.data import Entry, load_category, parse_categories
from agentloop.eval.bfcl.schema import openai_name
from agentloop.eval.bfcl.suite import load_suite
from agentloop.testing import FakeOpenAIServer, FakeReply, ScriptedBackend, reply

CATEGORIES = parse_categories("simple_python,parallel,irrelevance")
LIMIT = 4


def _gold(entry: Entry) -> list[tuple[str, dict[str, Any]]]:
    calls = []
    for answer in entry.ground_truth:
        name, params = next(iter(answer.items()))
        args = {
            p: next(v for v in allowed if v != "")
            for p, allowed in params.items()
            if any(v != "" for v in allowed)
        }
        calls.append((openai_name(name), args))
    return calls


def _question(request: ChatRequest) -> str:
    return str(next(m["content"] for m in request.messages if m["role"] == "user"))


async def test_bfcl_runs_through_the_runner_and_scores_per_category(
    bfcl_data: Path, tmp_path: Path
) -> None:
    tasks, provider = load_suite(bfcl_data, CATEGORIES, LIMIT)
    entries = {e.id: e for c in CATEGORIES for e in load_category(bfcl_data, c, LIMIT)}
    by_question = {e.messages[-1]["content"]: e for e in entries.values()}
    seen_tools: dict[str, list[str]] = {}

    def model(request: ChatRequest) -> ModelReply:
        entry = by_question[_question(request)]
        seen_tools[entry.id] = [t["function"]["name"] for t in request.tools]
        number = int(entry.id.rsplit("_", 1)[1])
        if not entry.ground_truth:  # irrelevance: answer in words, except question 0
            return reply("", (seen_tools[entry.id][0], {})) if number == 0 else reply("No.")
        calls = _gold(entry)
        if number == 1:  # written as text: recovered by agentloop, scored like any call
            text = "".join(
                f"<tool_call>{json.dumps({'name': n, 'arguments': a})}</tool_call>"
                for n, a in calls
            )
            return reply(text)
        if number == 2:  # wrong: a required value changed
            name, args = calls[0]
            key = next(iter(args))
            calls[0] = (name, {**args, key: "definitely wrong"})
        return reply("", *calls)

    outcome = await run_eval(
        tasks,
        [AgentConfig(base_url="http://scripted.invalid/v1", max_retries=0, stream=False)],
        EvalOptions(out_dir=tmp_path / "run", concurrency=4, tasks_file="bfcl"),
        provider=provider,
        backend_factory=lambda c: ScriptedBackend([model]),  # type: ignore[list-item]
    )
    results = {t.task_id: t for t in outcome.trials}
    assert len(results) == 3 * LIMIT
    for task_id, trial in results.items():
        number = int(task_id.rsplit("_", 1)[1])
        expected = number != 0 if "irrelevance" in task_id else number != 2
        assert trial.passed == expected, (task_id, trial.failure)
        assert trial.turns == 1
    assert "type_error:simple" in str(results["simple_python_2"].failure)
    assert results["parallel_1"].recovered_calls == len(entries["parallel_1"].ground_truth) > 1
    # `math.factorial` is offered as `math_factorial`, as BFCL's OpenAI handler sends it
    assert seen_tools["simple_python_1"] == ["math_factorial"]
    rates = {g.name: g.pass_at_1 for g in outcome.summary.categories}
    assert rates == {"irrelevance": 0.75, "parallel": 0.75, "simple_python": 0.75}
    summary = (tmp_path / "run" / "summary.md").read_text()
    recovered = sum(t.recovered_calls for t in results.values())
    assert recovered == 1 + len(entries["parallel_1"].ground_truth)  # simple_python_1 too
    assert f"recovered from text: {recovered} " in summary


def test_unknown_category_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown BFCL category 'simple_java'"):
        parse_categories("simple_python,simple_java")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_eval_bfcl_command(
    workers: str, bfcl_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def model(body: dict[str, Any]) -> FakeReply:
        return FakeReply(content="I cannot help with that.")

    with FakeOpenAIServer([model]) as fake:
        code = main(
            [
                "eval",
                "bfcl",
                "--categories",
                "simple_python,live_irrelevance",
                "--limit",
                "2",
                "--base-url",
                fake.url,
                "--out",
                str(tmp_path / "run"),
                "--workers",
                workers,  # 2: BFCL's tools are sent to worker processes like any others
                "--no-progress",
            ]
        )
        sent = fake.requests
    out = capsys.readouterr().out
    assert code == 0
    assert "pass@1 50.0%" in out
    assert "calls 0, recovered from text 0" in out
    assert "live_irrelevance" in out and "simple_python" in out
    assert len(sent) == 4 and all(r["tools"] for r in sent)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["tasks_file"].startswith("bfcl-eval==")
