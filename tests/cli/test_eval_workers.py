"""`agentloop eval --workers N`: the flag, and Ctrl-C from a terminal (SIGINT to the whole
process group, workers included)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentloop.cli import main
from agentloop.testing import FakeOpenAIServer
from tests.eval.helpers import task_line, write_tasks
from tests.eval.worker_tools import PidModel

PID_TOOL = ["tests.eval.worker_tools:worker_pid"]


def pid_suite(path: Path, count: int) -> Path:
    lines = [
        task_line(f"t{i:02d}", "worker_pid", [{"type": "answer_contains", "value": "pid"}],
                  tools=PID_TOOL)
        for i in range(count)
    ]  # fmt: skip
    return write_tasks(path / "suite.jsonl", lines)


def live_in_group(group: int, grace: float = 10.0) -> list[str]:
    """Processes of a process group that still run once `grace` seconds have passed (an
    orphan that exited may stay a zombie where PID 1 does not reap; on a loaded machine a
    process may still be on its way out, shown as `R [python]`, just after its parent)."""
    deadline = time.monotonic() + grace
    while True:
        listing = subprocess.run(
            ["ps", "-o", "stat=,args=", "-g", str(group)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        live = [line for line in listing.splitlines() if line.strip() and not line.startswith("Z")]
        if not live or time.monotonic() > deadline:
            return live
        time.sleep(0.1)


def rows(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_workers_flag_runs_trials_in_worker_processes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    with FakeOpenAIServer([PidModel()]) as server:
        code = main(
            ["eval", str(pid_suite(tmp_path, 6)), "--base-url", server.base_url, "--out",
             str(out), "--workers", "2", "--concurrency", "4", "--no-progress"]
        )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    found = rows(out)
    assert sorted(str(r["task_id"]) for r in found) == [f"t{i:02d}" for i in range(6)]
    pids = {int(str(r["answer"]).split()[1]) for r in found}
    assert pids and os.getpid() not in pids
    assert "pass@1 100.0%" in capsys.readouterr().out


def test_workers_must_be_at_least_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["eval", str(pid_suite(tmp_path, 1)), "--workers", "0", "--no-progress"])
    assert code == 2
    assert "workers must be at least 1" in capsys.readouterr().err


def test_ctrl_c_stops_the_workers_and_resume_completes(tmp_path: Path) -> None:
    root = Path(__file__).parents[2]
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("AGENTLOOP_BASE_URL", None)
    with FakeOpenAIServer([PidModel()]) as server:
        argv = [sys.executable, "-m", "agentloop", "eval", str(pid_suite(tmp_path, 30)),
                "--base-url", server.base_url, "--out", str(out), "--workers", "2",
                "--concurrency", "2", "--no-progress"]  # fmt: skip
        child = subprocess.Popen(
            argv, cwd=root, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        results = out / "results.jsonl"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if results.exists() and len(results.read_text().splitlines()) >= 3:
                break
            time.sleep(0.05)
        os.killpg(child.pid, signal.SIGINT)  # as a terminal does: the workers get it too
        _, stderr = child.communicate(timeout=60)
        assert child.returncode == 130, stderr
        assert "Traceback" not in stderr  # the workers ignore SIGINT; the parent stops them
        assert live_in_group(child.pid) == []  # no worker left running
        kept = rows(out)
        assert 3 <= len(kept) < 30
        resumed = subprocess.run(
            [*argv, "--resume"], cwd=root, env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr
    keys = [(r["task_id"], r["trial"]) for r in rows(out)]
    assert sorted(keys) == [(f"t{i:02d}", 0) for i in range(30)]  # each exactly once
