"""The eval runner against in-memory and real-HTTP fake servers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agentloop.config import AgentConfig
from agentloop.errors import BackendUnavailable
from agentloop.eval import EvalOptions, FixedTools, load_tasks, read_results, run_eval
from agentloop.testing import FakeOpenAIServer, FakeReply, ScriptedBackend
from tests.eval.helpers import (
    TEST_TOOLS,
    fake_server_step,
    scripted_step,
    standard_tasks,
    task_line,
    write_tasks,
)

CONFIG = AgentConfig(base_url="http://scripted.invalid/v1", max_retries=0, stream=False)


def scripted_factory(*steps: object) -> tuple[list[ScriptedBackend], object]:
    made: list[ScriptedBackend] = []

    def factory(config: AgentConfig) -> ScriptedBackend:
        backend = ScriptedBackend(list(steps) or [scripted_step])  # type: ignore[list-item]
        made.append(backend)
        return backend

    return made, factory


async def test_runs_every_trial_and_writes_all_outputs(tmp_path: Path) -> None:
    tasks = load_tasks(standard_tasks(tmp_path / "tasks.jsonl"))
    out = tmp_path / "run"
    made, factory = scripted_factory()
    outcome = await run_eval(
        tasks,
        [CONFIG],
        EvalOptions(out_dir=out, trials=2, concurrency=3),
        provider=FixedTools(TEST_TOOLS),
        backend_factory=factory,  # type: ignore[arg-type]
    )
    trials = read_results(out / "results.jsonl")
    assert len(trials) == 8 and outcome.ran == 8 and not outcome.interrupted
    by_key = {t.key: t for t in trials}
    assert by_key[("add", 0)].passed and by_key[("add", 1)].passed
    assert by_key[("date", 0)].passed, by_key[("date", 0)].failure
    assert by_key[("date", 0)].today == "2031-12-30"  # the tool's date, not the clock's
    wrong = by_key[("wrong", 1)]
    assert not wrong.passed and wrong.failure is not None and "wanted 3" in wrong.failure
    assert wrong.tool_calls[0].name == "add_number" and wrong.turns == 2
    assert outcome.summary.overall.pass_at_1 == pytest.approx(0.75)
    assert outcome.summary.overall.pass_hat_k == pytest.approx(0.75)
    for trial in trials:
        saved = json.loads((out / trial.transcript).read_text())
        assert saved["messages"][0] == {"role": "user", "content": saved["messages"][0]["content"]}
        wire = out / trial.transcript.replace(".json", ".wire.jsonl")
        assert json.loads(wire.read_text().splitlines()[-1])["type"] == "run_finished"
    assert "| dates | 2 | 4 | 2 | 50.0% | 50.0% |" in (out / "summary.md").read_text()
    assert "task-wrong" in (out / "report.html").read_text()
    assert made and made[0].closed


async def test_wire_transcript_is_written_over_http(tmp_path: Path) -> None:
    tasks = load_tasks(standard_tasks(tmp_path / "tasks.jsonl"))
    out = tmp_path / "run"
    with FakeOpenAIServer([fake_server_step]) as server:
        config = AgentConfig(base_url=server.base_url, max_retries=0)
        outcome = await run_eval(
            tasks,
            [config],
            EvalOptions(out_dir=out, concurrency=4),
            provider=FixedTools(TEST_TOOLS),
        )
    assert outcome.summary.overall.passed_trials == 3
    wire = out / "transcripts" / "add" / "trial-0.wire.jsonl"
    kinds = [json.loads(line)["type"] for line in wire.read_text().splitlines()]
    assert kinds.count("request") == 2 and kinds[-1] == "run_finished"
    assert outcome.info.model == "fake-model.gguf"


async def test_trials_are_spread_round_robin_over_servers(tmp_path: Path) -> None:
    lines = [
        task_line(f"t{i}", f"say hi{i}", [{"type": "answer_contains", "value": "hi"}])
        for i in range(6)
    ]
    tasks = load_tasks(write_tasks(tmp_path / "tasks.jsonl", lines))
    with FakeOpenAIServer([fake_server_step]) as a, FakeOpenAIServer([fake_server_step]) as b:
        configs = [AgentConfig(base_url=s.base_url, max_retries=0) for s in (a, b)]
        await run_eval(
            tasks,
            configs,
            EvalOptions(out_dir=tmp_path / "o", concurrency=2),
            provider=FixedTools(TEST_TOOLS),
        )
        chats = [len([p for p in s.requests if "messages" in p]) for s in (a, b)]
        expected = {a.base_url, b.base_url}
    assert chats == [3, 3]
    assert {t.base_url for t in read_results(tmp_path / "o" / "results.jsonl")} == expected


async def test_concurrency_is_bounded(tmp_path: Path) -> None:
    lines = [
        task_line(f"t{i}", f"say x{i}", [{"type": "answer_contains", "value": "x"}])
        for i in range(12)
    ]
    tasks = load_tasks(write_tasks(tmp_path / "tasks.jsonl", lines))
    running = peak = 0

    async def slow_step_async() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1

    class Counting(ScriptedBackend):
        async def complete(self, request, **kwargs):  # type: ignore[no-untyped-def,override]
            await slow_step_async()
            return await super().complete(request, **kwargs)

    outcome = await run_eval(
        tasks,
        [CONFIG],
        EvalOptions(out_dir=tmp_path / "o", concurrency=3),
        provider=FixedTools(TEST_TOOLS),
        backend_factory=lambda c: Counting([scripted_step]),
    )
    assert outcome.ran == 12 and peak == 3


async def test_an_unreachable_server_ends_the_trial_once(tmp_path: Path) -> None:
    """Retries live in the backend: the trial is not re-run on top of them."""
    lines = [task_line("a", "say ok", [{"type": "answer_contains", "value": "ok"}])]
    tasks = load_tasks(write_tasks(tmp_path / "tasks.jsonl", lines))
    always_down = ScriptedBackend([BackendUnavailable("connection refused")])
    outcome = await run_eval(
        tasks,
        [CONFIG],
        EvalOptions(out_dir=tmp_path / "o2"),
        provider=FixedTools(TEST_TOOLS),
        backend_factory=lambda c: always_down,
    )
    (trial,) = outcome.trials
    assert not trial.passed and trial.stop_reason == "backend_error" and trial.attempts == 1
    assert trial.error is not None and "connection refused" in trial.error
    assert len(always_down.requests) == 1


async def test_http_errors_end_the_trial_without_retry(tmp_path: Path) -> None:
    lines = [task_line("a", "say ok", [{"type": "answer_contains", "value": "ok"}])]
    tasks = load_tasks(write_tasks(tmp_path / "tasks.jsonl", lines))
    with FakeOpenAIServer([FakeReply(status=400)]) as server:
        outcome = await run_eval(
            tasks,
            [AgentConfig(base_url=server.base_url, max_retries=0)],
            EvalOptions(out_dir=tmp_path / "o"),
            provider=FixedTools(TEST_TOOLS),
        )
        chats = [r for r in server.requests if "messages" in r]
    (trial,) = outcome.trials
    assert trial.stop_reason == "backend_error" and trial.attempts == 1 and len(chats) == 1
    assert not trial.passed and trial.error


async def test_per_task_timeout(tmp_path: Path) -> None:
    lines = [
        task_line("slow", "say ok", [{"type": "answer_contains", "value": "ok"}], timeout=0.2),
        task_line("fast", "say ok", [{"type": "answer_contains", "value": "ok"}]),
    ]
    tasks = load_tasks(write_tasks(tmp_path / "tasks.jsonl", lines))

    def step(request: object) -> object:
        return scripted_step(request)  # type: ignore[arg-type]

    backend = ScriptedBackend([step], delay=0.5)  # type: ignore[list-item]
    outcome = await run_eval(
        tasks,
        [CONFIG],
        EvalOptions(out_dir=tmp_path / "o", timeout=2.0, concurrency=2),
        provider=FixedTools(TEST_TOOLS),
        backend_factory=lambda c: backend,
    )
    by_id = {t.task_id: t for t in outcome.trials}
    assert by_id["slow"].stop_reason == "timeout" and not by_id["slow"].passed
    assert by_id["slow"].latency < 0.45
    assert by_id["fast"].passed


async def test_max_turns_applies(tmp_path: Path) -> None:
    lines = [task_line("loop", "loop", [{"type": "max_tool_calls", "value": 10}], max_turns=3)]
    tasks = load_tasks(write_tasks(tmp_path / "tasks.jsonl", lines))
    outcome = await run_eval(
        tasks,
        [CONFIG],
        EvalOptions(out_dir=tmp_path / "o"),
        provider=FixedTools(TEST_TOOLS),
        backend_factory=lambda c: ScriptedBackend([scripted_step]),
    )
    (trial,) = outcome.trials
    assert trial.stop_reason == "max_turns" and trial.turns == 3 and len(trial.tool_calls) == 3
    assert trial.passed  # the check itself holds; the stop reason is reported separately


def _many(tmp_path: Path, count: int) -> Path:
    lines = [
        task_line(f"t{i:02d}", f"add {i} 1", [{"type": "answer_number", "value": i + 1}])
        for i in range(count)
    ]
    return write_tasks(tmp_path / "tasks.jsonl", lines)


async def test_interrupt_keeps_finished_trials_and_resume_finishes(tmp_path: Path) -> None:
    tasks = load_tasks(_many(tmp_path, 10))
    out = tmp_path / "run"
    options = EvalOptions(out_dir=out, concurrency=2)
    finished: list[str] = []
    backend = ScriptedBackend([scripted_step], delay=0.05)
    running = asyncio.create_task(
        run_eval(
            tasks,
            [CONFIG],
            options,
            provider=FixedTools(TEST_TOOLS),
            backend_factory=lambda c: backend,
            on_trial=lambda t: finished.append(t.task_id),
        )
    )
    while len(finished) < 3:
        await asyncio.sleep(0.01)
    running.cancel()
    outcome = await running
    assert outcome.interrupted and 3 <= outcome.ran < 10
    kept = read_results(out / "results.jsonl")
    assert len(kept) == outcome.ran and all(t.passed for t in kept)
    assert "interrupted" in (out / "summary.md").read_text()
    assert json.loads((out / "run.json").read_text())["interrupted"] is True

    with pytest.raises(Exception, match="--resume"):
        await run_eval(
            tasks,
            [CONFIG],
            options,
            provider=FixedTools(TEST_TOOLS),
            backend_factory=lambda c: ScriptedBackend([scripted_step]),
        )

    again = ScriptedBackend([scripted_step])
    resumed = await run_eval(
        tasks,
        [CONFIG],
        EvalOptions(out_dir=out, concurrency=2, resume=True),
        provider=FixedTools(TEST_TOOLS),
        backend_factory=lambda c: again,
    )
    assert resumed.skipped == len(kept) and resumed.ran == 10 - len(kept)
    assert not resumed.interrupted
    all_trials = read_results(out / "results.jsonl")
    assert sorted(t.task_id for t in all_trials) == [f"t{i:02d}" for i in range(10)]
    assert len(again.requests) == 2 * (10 - len(kept))  # finished tasks were not re-run
    assert json.loads((out / "run.json").read_text())["interrupted"] is False


async def test_resume_refuses_other_trial_count(tmp_path: Path) -> None:
    tasks = load_tasks(_many(tmp_path, 2))
    out = tmp_path / "run"
    await run_eval(
        tasks,
        [CONFIG],
        EvalOptions(out_dir=out),
        provider=FixedTools(TEST_TOOLS),
        backend_factory=lambda c: ScriptedBackend([scripted_step]),
    )
    with pytest.raises(Exception, match="--trials 1"):
        await run_eval(
            tasks,
            [CONFIG],
            EvalOptions(out_dir=out, trials=3, resume=True),
            provider=FixedTools(TEST_TOOLS),
            backend_factory=lambda c: ScriptedBackend([scripted_step]),
        )


async def test_unknown_tool_names_stop_the_run_before_anything_runs(tmp_path: Path) -> None:
    lines = [
        task_line("a", "say ok", [{"type": "answer_contains", "value": "ok"}]),
        task_line("b", "say ok", [{"type": "answer_contains", "value": "ok"}], tools=["nope"]),
        task_line(
            "c",
            "say ok",
            [{"type": "answer_contains", "value": "ok"}],
            tools=["tests.eval.helpers:missing"],
        ),
    ]
    path = write_tasks(tmp_path / "tasks.jsonl", lines)
    backend = ScriptedBackend([scripted_step])
    with pytest.raises(Exception) as caught:
        await run_eval(
            load_tasks(path),
            [CONFIG],
            EvalOptions(out_dir=tmp_path / "o", tasks_file=str(path)),
            provider=FixedTools(TEST_TOOLS),
            backend_factory=lambda c: backend,
        )
    errors = caught.value.errors  # type: ignore[attr-defined]
    assert errors[0] == (
        f"{path}:2: tools[0]: unknown built-in tool 'nope' (known: add_number, "
        "current_date, explode, multiply_number)"
    )
    assert errors[1].startswith(f"{path}:3: tools[0]: ") and "no attribute 'missing'" in errors[1]
    assert backend.requests == [] and not (tmp_path / "o" / "results.jsonl").exists()


async def test_task_tools_narrow_the_set_and_load_user_tools(tmp_path: Path) -> None:
    lines = [
        task_line(
            "a",
            "add 1 2",
            [{"type": "answer_number", "value": 3}],
            tools=["tests.eval.helpers:add_number"],
        ),
        task_line(
            "b",
            "add 1 2",
            [{"type": "tool_called", "name": "add_number"}],
            tools=["multiply_number"],
        ),
    ]
    backend = ScriptedBackend([scripted_step])
    outcome = await run_eval(
        load_tasks(write_tasks(tmp_path / "t.jsonl", lines)),
        [CONFIG],
        EvalOptions(out_dir=tmp_path / "o", concurrency=1),
        provider=FixedTools([t for t in TEST_TOOLS if t.name != "add_number"]),
        backend_factory=lambda c: backend,
    )
    by_id = {t.task_id: t for t in outcome.trials}
    assert by_id["a"].passed
    assert not by_id["b"].passed and by_id["b"].tool_calls[0].error == "unknown_tool"
    names = [[t["function"]["name"] for t in r.tools] for r in backend.requests]
    assert ["add_number"] in names and ["multiply_number"] in names


async def test_workspaces_get_setup_files_and_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from tools import tool

    seen: list[Path] = []

    @tool
    def look(path: str) -> str:
        """Read a file of the trial's workspace.

        Args:
            path: Relative path.
        """
        return "?"

    class Recording(FixedTools):
        async def __call__(self, task, workspace):  # type: ignore[no-untyped-def]
            seen.append(workspace)
            assert (workspace / "a" / "b.txt").read_text() == "hello"
            (workspace / "a" / "b.txt").write_text("changed by the trial")
            return await super().__call__(task, workspace)

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    line = task_line(
        "t", "say hi", [{"type": "answer_contains", "value": "hi"}], setup={"a/b.txt": "hello"}
    )
    outcome = await run_eval(
        load_tasks(write_tasks(tmp_path / "t.jsonl", [line])),
        [CONFIG],
        EvalOptions(out_dir=tmp_path / "o", trials=3),
        provider=Recording([look]),
        backend_factory=lambda c: ScriptedBackend([scripted_step]),
    )
    assert outcome.summary.overall.passed_trials == 3
    assert len(set(seen)) == 3  # one fresh workspace per trial
    assert list(scratch.iterdir()) == []  # all removed
