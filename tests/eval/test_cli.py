"""`agentloop eval` through `main([...])`: exit codes and output."""

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
from tests.eval.helpers import fake_server_step, task_line, write_tasks

USER_TOOLS = ["tests.eval.helpers:add_number", "tests.eval.helpers:current_date"]


def tasks_file(tmp_path: Path) -> Path:
    """Three tasks the fake model passes and one it fails: pass@1 = 75%."""
    lines = [
        task_line(
            f"add{i}", f"add {i} 1", [{"type": "answer_number", "value": i + 1}], tools=USER_TOOLS
        )
        for i in range(3)
    ]
    lines.append(
        task_line(
            "wrong",
            "add 1 1",
            [{"type": "answer_number", "value": 3}],
            tools=USER_TOOLS,
            category="hard",
        )
    )
    return write_tasks(tmp_path / "suite.jsonl", lines)


def run(tmp_path: Path, url: str, out: str, *extra: str) -> int:
    return main(
        [
            "eval",
            str(tasks_file(tmp_path)),
            "--base-url",
            url,
            "--out",
            str(tmp_path / out),
            "--no-progress",
            *extra,
        ]
    )


@pytest.fixture
def server() -> FakeOpenAIServer:
    with FakeOpenAIServer([fake_server_step]) as fake:
        yield fake  # type: ignore[misc]


@pytest.mark.parametrize(("rate", "code"), [("0.7", 0), ("75%", 0), ("0.8", 1), ("90", 1)])
def test_fail_under_sets_the_exit_code(
    tmp_path: Path,
    server: FakeOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    rate: str,
    code: int,
) -> None:
    assert run(tmp_path, server.base_url, "run", "--fail-under", rate) == code
    out, err = capsys.readouterr()
    assert "pass@1 75.0%" in out
    assert ("below --fail-under" in err) is (code == 1)


def test_writes_every_output_file(
    tmp_path: Path, server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, server.base_url, "run", "--trials", "2", "--concurrency", "3") == 0
    chats = [r for r in server.requests if "messages" in r]
    assert chats and all(r.get("stream") is True for r in chats)
    out_dir = tmp_path / "run"
    results = [json.loads(line) for line in (out_dir / "results.jsonl").read_text().splitlines()]
    assert len(results) == 8
    assert len(list((out_dir / "transcripts").glob("*/trial-*.json"))) == 8
    assert (out_dir / "summary.md").read_text().startswith("# Eval summary:")
    assert "<svg" in (out_dir / "report.html").read_text()
    assert json.loads((out_dir / "run.json").read_text())["trials"] == 2
    assert "results in" in capsys.readouterr().out


def test_a_bad_task_file_runs_nothing(
    tmp_path: Path, server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_tasks(
        tmp_path / "bad.jsonl",
        [
            task_line("a", "add 1 1", [{"type": "answer_number", "value": 2}]),
            task_line("b", "add 1 1", [{"type": "answer_number"}]),
        ],
    )
    code = main(["eval", str(path), "--base-url", server.base_url, "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{path}:2: checks[0].value: Field required" in err
    assert "nothing ran" in err
    assert server.requests == [] and not (tmp_path / "o").exists()


def test_an_unknown_tool_runs_nothing(
    tmp_path: Path, server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_tasks(
        tmp_path / "bad.jsonl",
        [
            task_line(
                "a",
                "add 1 1",
                [{"type": "answer_number", "value": 2}],
                tools=["tests.eval.helpers:nothing_here"],
            ),
        ],
    )
    code = main(["eval", str(path), "--base-url", server.base_url, "--out", str(tmp_path / "o")])
    assert code == 2
    assert f"{path}:1: tools[0]: 'tests.eval.helpers' has no attribute" in capsys.readouterr().err
    assert [r for r in server.requests if "messages" in r] == []


def test_existing_output_needs_resume(
    tmp_path: Path, server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, server.base_url, "run") == 0
    assert run(tmp_path, server.base_url, "run") == 2
    assert "pass --resume" in capsys.readouterr().err
    before = len(server.requests)
    assert run(tmp_path, server.base_url, "run", "--resume") == 0
    assert len(server.requests) == before  # everything was already done
    assert main(["eval", str(tasks_file(tmp_path)), "--resume"]) == 2
    assert "--resume needs --out" in capsys.readouterr().err


def test_compare_and_report_subcommands(
    tmp_path: Path, server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, server.base_url, "a") == 0
    results = tmp_path / "a" / "results.jsonl"
    (tmp_path / "b").mkdir()
    flipped = []
    for line in results.read_text().splitlines():
        row = json.loads(line)
        if row["task_id"] in ("wrong", "add0"):
            row["passed"] = not row["passed"]
        flipped.append(json.dumps(row))
    (tmp_path / "b" / "results.jsonl").write_text("\n".join(flipped) + "\n")
    capsys.readouterr()
    assert main(["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "better: 1  worse: 1  unchanged: 2" in out
    assert "wrong" in out.split("Worse:")[0] and "add0" in out.split("Worse:")[1]

    assert main(["eval", "compare", str(tmp_path / "a")]) == 2
    assert main(["eval", "compare", str(tmp_path / "a"), str(tmp_path / "nope")]) == 2
    (tmp_path / "a" / "report.html").unlink()
    assert main(["eval", "report", str(tmp_path / "a")]) == 0
    assert (tmp_path / "a" / "report.html").exists()


def test_no_stream(tmp_path: Path, server: FakeOpenAIServer) -> None:
    assert run(tmp_path, server.base_url, "run", "--no-stream") == 0
    chats = [r for r in server.requests if "messages" in r]
    assert chats and not any(r.get("stream") for r in chats)


def test_context_size_and_no_compaction_reach_every_trial(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    """A prompt larger than --context-size: with compaction on, the trial ends as
    context_overflow before anything is sent; with --no-compaction it goes out as it is."""
    long_prompt = "add 2 1. " + "Some background that does not matter. " * 100
    path = write_tasks(
        tmp_path / "long.jsonl",
        [task_line("long", long_prompt, [{"type": "answer_number", "value": 3}], tools=[])],
    )

    def run_long(out: str, *extra: str) -> list[dict[str, object]]:
        args = ["eval", str(path), "--base-url", server.base_url, "--no-progress"]
        main([*args, "--out", str(tmp_path / out), *extra])
        return [json.loads(line) for line in (tmp_path / out / "results.jsonl").open()]

    on = run_long("on", "--context-size", "300")
    assert [r["stop_reason"] for r in on] == ["context_overflow"]
    assert not [r for r in server.requests if "messages" in r], "nothing was sent"
    off = run_long("off", "--context-size", "300", "--no-compaction")
    assert [r["stop_reason"] for r in off] == ["completed"]
    chats = [r for r in server.requests if "messages" in r]
    assert [m["content"] for m in chats[0]["messages"]] == [long_prompt]


def test_ctrl_c_keeps_finished_trials_and_resume_completes(tmp_path: Path) -> None:
    root = Path(__file__).parents[2]
    lines = [
        task_line(
            f"t{i}", f"add {i} 1", [{"type": "answer_number", "value": i + 1}], tools=USER_TOOLS
        )
        for i in range(40)
    ]
    suite = write_tasks(tmp_path / "suite.jsonl", lines)
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("AGENTLOOP_BASE_URL", None)
    with FakeOpenAIServer([fake_server_step], latency=0.1) as server:
        argv = [
            sys.executable,
            "-m",
            "agentloop",
            "eval",
            str(suite),
            "--base-url",
            server.base_url,
            "--out",
            str(out),
            "--concurrency",
            "2",
            "--no-progress",
        ]
        child = subprocess.Popen(
            argv, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        results = out / "results.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if results.exists() and len(results.read_text().splitlines()) >= 4:
                break
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=60)
        assert child.returncode == 130, stderr
        assert f"--resume --out {out}" in stderr
        kept = results.read_text().splitlines()
        assert 4 <= len(kept) < 40
        assert "interrupted" in (out / "summary.md").read_text()
        assert "interrupted" in (out / "report.html").read_text()

        resumed = subprocess.run(
            [*argv, "--resume"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert resumed.returncode == 0, resumed.stderr
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert sorted(r["task_id"] for r in rows) == sorted(f"t{i}" for i in range(40))
    assert all(r["passed"] for r in rows)
    assert "pass@1 100.0%" in resumed.stdout


def test_system_sets_the_prompt_of_tasks_without_one(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    from agentloop.profiles import QWEN_CODER

    own = "The task's own prompt."
    lines = [
        task_line("plain", "add 2 1", [{"type": "answer_number", "value": 3}], tools=USER_TOOLS),
        task_line(
            "own", "add 5 1", [{"type": "answer_number", "value": 6}], tools=USER_TOOLS, system=own
        ),
    ]
    suite = write_tasks(tmp_path / "sys.jsonl", lines)

    def system_prompts(out: str, *extra: str) -> dict[str, set[str | None]]:
        """Run the suite; per prompt, the system message of its requests (None: none)."""
        seen = len(server.requests)
        argv = ["eval", str(suite), "--base-url", server.base_url, "--out", str(tmp_path / out)]
        assert main([*argv, "--no-progress", "--profile", "qwen2.5-coder", *extra]) == 0
        found: dict[str, set[str | None]] = {}
        for body in server.requests[seen:]:
            first, user = (
                body["messages"][0],
                next(m for m in body["messages"] if m["role"] == "user"),
            )
            system = first["content"] if first["role"] == "system" else None
            found.setdefault(user["content"], set()).add(system)
        return found

    assert system_prompts("default") == {"add 2 1": {QWEN_CODER.system_prompt}, "add 5 1": {own}}
    assert system_prompts("given", "--system", "Be brief.") == {
        "add 2 1": {"Be brief."},
        "add 5 1": {own},
    }
    assert system_prompts("none", "--system", "") == {"add 2 1": {None}, "add 5 1": {own}}
    assert system_prompts("workers", "--system", "Be brief.", "--workers", "2") == {
        "add 2 1": {"Be brief."},
        "add 5 1": {own},
    }
    recorded = {
        out: json.loads((tmp_path / out / "run.json").read_text())["system"]
        for out in ("default", "given", "none")
    }
    assert recorded == {"default": None, "given": "Be brief.", "none": ""}
