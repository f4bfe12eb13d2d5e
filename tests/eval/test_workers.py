"""`run_eval(..., workers=N)`: trials over worker processes sharing one queue."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest

from agentloop.config import AgentConfig
from agentloop.errors import ConfigError
from agentloop.eval import EvalOptions, FixedTools, load_tasks, read_results, run_eval
from agentloop.eval.workers import split
from agentloop.testing import FakeOpenAIServer
from agentloop.transcript import replay
from tests.eval.helpers import task_line, write_tasks
from tests.eval.worker_tools import PidModel, crash_worker, parent_only_backend, worker_pid
from tools import tool


def suite(path: Path, count: int, crash: int | None = None) -> list[Any]:
    lines = [
        task_line(
            f"t{i:02d}",
            "crash_worker" if i == crash else f"worker_pid {i}",
            [{"type": "answer_contains", "value": "pid"}],
        )
        for i in range(count)
    ]
    return load_tasks(write_tasks(path / "tasks.jsonl", lines))


def raw_keys(out: Path) -> list[tuple[str, int]]:
    lines = (out / "results.jsonl").read_text().splitlines()
    return [(json.loads(line)["task_id"], json.loads(line)["trial"]) for line in lines]


def test_concurrency_is_split_over_the_workers() -> None:
    assert split(32, 2) == [16, 16]
    assert split(5, 2) == [3, 2]
    assert split(2, 4) == [1, 1]  # no worker without a slot
    assert split(1, 3) == [1]


async def test_every_trial_runs_once_over_the_workers(tmp_path: Path) -> None:
    model = PidModel()
    out = tmp_path / "run"
    with FakeOpenAIServer([model]) as server:
        outcome = await run_eval(
            suite(tmp_path, 12),
            [AgentConfig(base_url=server.base_url, max_retries=0)],
            EvalOptions(out_dir=out, trials=2, concurrency=3, workers=2),
            provider=FixedTools([worker_pid]),
        )
    keys = raw_keys(out)
    assert sorted(keys) == sorted((f"t{i:02d}", k) for i in range(12) for k in range(2))
    assert outcome.ran == 24 and not outcome.interrupted
    assert all(t.passed for t in outcome.trials)
    pids = {int(t.answer.split()[1]) for t in outcome.trials}
    assert len(pids) == 2 and os.getpid() not in pids  # both workers took trials
    most = sorted(model.most_at_once().values())
    assert most[0] <= 1 and most[1] <= 2  # slots [2, 1]: concurrency 3 split, not copied
    for trial in outcome.trials:
        wire = out / trial.transcript.replace(".json", ".wire.jsonl")
        assert len(replay(wire)) == 2  # each trial's raw traffic, written by its worker
    assert multiprocessing.active_children() == []


async def test_a_dead_worker_is_an_error_and_the_others_finish(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "run"
    with FakeOpenAIServer([PidModel()]) as server:
        outcome = await run_eval(
            suite(tmp_path, 7, crash=2),
            [AgentConfig(base_url=server.base_url, max_retries=0)],
            EvalOptions(out_dir=out, concurrency=2, workers=2),
            provider=FixedTools([worker_pid, crash_worker]),
        )
    assert sorted(raw_keys(out)) == [(f"t{i:02d}", 0) for i in range(7)]
    by_id = {t.task_id: t for t in outcome.trials}
    crashed = by_id.pop("t02")
    assert not crashed.passed and crashed.stop_reason == "error"
    assert crashed.error is not None and "died (exit code 3)" in crashed.error
    assert all(t.passed for t in by_id.values())
    assert not outcome.interrupted
    assert "eval.worker_died" in caplog.text
    assert multiprocessing.active_children() == []


async def test_workers_that_cannot_start_end_the_run_without_a_hang(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "run"
    with FakeOpenAIServer([PidModel()]) as server:
        outcome = await asyncio.wait_for(
            run_eval(
                suite(tmp_path, 5),
                [AgentConfig(base_url=server.base_url, max_retries=0)],
                EvalOptions(out_dir=out, concurrency=2, workers=2),
                provider=FixedTools([worker_pid]),
                backend_factory=parent_only_backend,
            ),
            timeout=60,
        )
    assert outcome.interrupted and outcome.ran == 0  # nothing started: all left for --resume
    assert read_results(out / "results.jsonl") == []
    assert caplog.text.count("eval.worker_failed") == 2
    assert "no server for workers" in caplog.text
    assert multiprocessing.active_children() == []


async def test_cancelling_keeps_finished_trials_and_resume_runs_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "run"
    tasks = suite(tmp_path, 16)
    with FakeOpenAIServer([PidModel()]) as server:
        config = AgentConfig(base_url=server.base_url, max_retries=0)
        options = EvalOptions(out_dir=out, concurrency=2, workers=2)
        running = asyncio.create_task(
            run_eval(tasks, [config], options, provider=FixedTools([worker_pid]))
        )
        results = out / "results.jsonl"
        for _ in range(600):
            if results.exists() and len(results.read_text().splitlines()) >= 2:
                break
            await asyncio.sleep(0.05)
        running.cancel()
        outcome = await running
        kept = raw_keys(out)
        assert outcome.interrupted and 2 <= len(kept) < 16 and len(set(kept)) == len(kept)
        assert multiprocessing.active_children() == []

        resumed = await run_eval(
            tasks,
            [config],
            EvalOptions(out_dir=out, concurrency=2, workers=2, resume=True),
            provider=FixedTools([worker_pid]),
        )
    keys = raw_keys(out)
    assert sorted(keys) == [(f"t{i:02d}", 0) for i in range(16)]  # each exactly once
    assert resumed.skipped == len(kept) and not resumed.interrupted
    assert len(read_results(results)) == 16


async def test_tools_a_worker_cannot_import_are_refused(tmp_path: Path) -> None:
    @tool
    def local() -> int:
        """Defined in a function: another process cannot import it."""
        return 1

    with pytest.raises(ConfigError, match="--workers needs"):
        await run_eval(
            suite(tmp_path, 2),
            [AgentConfig(base_url="http://127.0.0.1:9/v1")],
            EvalOptions(out_dir=tmp_path / "run", workers=2),
            provider=FixedTools([local]),
            backend_factory=lambda config: _unused(),
        )


async def test_an_observer_object_cannot_cross_into_workers(tmp_path: Path) -> None:
    class Observer:
        def trial(self, task: Any, trial: int) -> Any:
            raise AssertionError("not called")

        def run_events(self, model: str) -> None:
            return None

    with pytest.raises(ConfigError, match="observer_factory"):
        await run_eval(
            suite(tmp_path, 2),
            [AgentConfig(base_url="http://127.0.0.1:9/v1")],
            EvalOptions(out_dir=tmp_path / "run", workers=2),
            provider=FixedTools([worker_pid]),
            observer=Observer(),
        )


def _unused() -> Any:
    raise AssertionError("no backend is made before the tools are checked")
