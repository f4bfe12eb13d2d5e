"""bench/plain_client_eval.py: the bare AsyncOpenAI loop over the eval's tasks, tools and
checks, against the fake OpenAI server (real HTTP), with the sandboxed built-in tools."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from agentloop.cli import main as agentloop_main
from agentloop.eval import read_results, summarize
from agentloop.eval.compare import load_run
from agentloop.profiles import resolve_profile, wire_fields
from agentloop.testing import FakeOpenAIServer, FakeReply
from tests.eval.helpers import task_line, write_tasks

pytestmark = pytest.mark.sandbox

BENCH = Path(__file__).resolve().parents[2] / "bench" / "plain_client_eval.py"
MODEL = "qwen2.5-coder-1.5b-instruct"  # picks the qwen2.5-coder profile, as on the real server
MATH = ["add_number", "multiply_number"]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("plain_client_eval", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


plain = _load()


def _run(tmp_path: Path, server: FakeOpenAIServer, lines: list[str], *extra: str) -> Path:
    tasks = write_tasks(tmp_path / "tasks.jsonl", lines)
    out = tmp_path / "out"
    argv = [str(tasks), "--base-url", server.base_url, "--out", str(out), *extra]
    assert plain.main(argv) == 0
    return out


def _trials(out: Path) -> dict[str, Any]:
    return {t.task_id: t for t in read_results(out / "results.jsonl")}


def test_a_two_call_task_passes_with_the_profiles_sampling_and_no_system_prompt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = [
        FakeReply(tool_calls=[("add_number", {"a": 2, "b": 3})]),
        FakeReply(tool_calls=[("multiply_number", {"a": 5, "b": 4})]),
        FakeReply("(2 + 3) * 4 = 20."),
    ]
    checks = [
        {"type": "answer_number", "value": 20},
        {"type": "tool_called", "name": "add_number", "arguments": {"a": 2, "b": 3}},
        {"type": "tool_called", "name": "multiply_number"},
    ]
    with FakeOpenAIServer(script, model=MODEL) as server:
        out = _run(tmp_path, server, [task_line("chain", "(2+3)*4?", checks, tools=MATH)])
        requests = server.requests
    trial = _trials(out)["chain"]
    assert trial.passed, trial.failure
    assert (trial.stop_reason, trial.turns, trial.recovered_calls) == ("completed", 3, 0)
    assert [c.name for c in trial.tool_calls] == MATH
    assert len(requests) == 3
    assert [m["role"] for m in requests[0]["messages"]] == ["user"]
    assert [t["function"]["name"] for t in requests[0]["tools"]] == MATH
    assert requests[1]["messages"][-1] == {
        "role": "tool",
        "tool_call_id": requests[1]["messages"][-2]["tool_calls"][0]["id"],
        "content": "5",
    }
    profile = resolve_profile(None, MODEL)
    first, later = (wire_fields(profile.settings(in_tool_loop=t), "llama") for t in (False, True))
    assert first != later  # the profile's tool-loop settings exist, so the check below bites
    assert requests[0].items() >= first.items()
    assert requests[2].items() >= later.items()
    printed = capsys.readouterr().out
    assert "pass@1 100.0%" in printed
    assert "  math " in printed


def test_malformed_arguments_become_a_tool_error_and_the_loop_goes_on(tmp_path: Path) -> None:
    script = [
        FakeReply(tool_calls=[("add_number", '{"a": 2, "b": ')]),
        FakeReply(tool_calls=[("add_number", {"a": 2, "b": 3})]),
        FakeReply("5"),
    ]
    checks = [{"type": "answer_number", "value": 5}]
    with FakeOpenAIServer(script, model=MODEL) as server:
        out = _run(tmp_path, server, [task_line("bad", "2+3?", checks, tools=MATH)])
        requests = server.requests
    trial = _trials(out)["bad"]
    assert trial.passed and trial.turns == 3
    assert [c.error for c in trial.tool_calls] == ["bad_json", None]
    told = requests[1]["messages"][-1]
    assert told["role"] == "tool"
    assert told["content"].startswith("Error: the arguments are not valid JSON")


def test_a_python_literal_is_not_read_as_agentloop_would(tmp_path: Path) -> None:
    # agentloop's registry reads {'a': 1} too; a hand-written json.loads does not.
    script = [FakeReply(tool_calls=[("add_number", "{'a': 1, 'b': 2}")]), FakeReply("3")]
    checks = [{"type": "tool_called", "name": "add_number"}]
    with FakeOpenAIServer(script, model=MODEL) as server:
        out = _run(tmp_path, server, [task_line("lit", "1+2?", checks, tools=MATH)])
    trial = _trials(out)["lit"]
    assert not trial.passed
    assert trial.tool_calls[0].error == "bad_json"


def test_a_tool_error_is_the_tool_message(tmp_path: Path) -> None:
    script = [FakeReply(tool_calls=[("add_number", {"a": "two"})]), FakeReply("sorry")]
    checks = [{"type": "answer_contains", "value": "sorry"}]
    with FakeOpenAIServer(script, model=MODEL) as server:
        out = _run(tmp_path, server, [task_line("err", "2+?", checks, tools=MATH)])
        told = server.requests[1]["messages"][-1]
    assert _trials(out)["err"].tool_calls[0].error == "invalid_arguments"
    assert told["role"] == "tool" and told["content"].startswith("Error:")


def test_max_turns_stops_a_model_that_keeps_calling(tmp_path: Path) -> None:
    script = [FakeReply(tool_calls=[("add_number", {"a": 1, "b": 1})])]  # repeats forever
    checks = [{"type": "answer_number", "value": 2}]
    line = task_line("loop", "1+1?", checks, tools=MATH, max_turns=3)
    with FakeOpenAIServer(script, model=MODEL) as server:
        out = _run(tmp_path, server, [line])
        sent = len(server.requests)
    trial = _trials(out)["loop"]
    assert (trial.stop_reason, trial.turns, trial.answer, sent) == ("max_turns", 3, "", 3)
    assert len(trial.tool_calls) == 3 and not trial.passed  # no repeat guard either


def test_a_call_written_as_text_is_not_recovered(tmp_path: Path) -> None:
    text = '<tool_call>\n{"name": "add_number", "arguments": {"a": 2, "b": 3}}\n</tool_call>'
    checks = [{"type": "tool_called", "name": "add_number"}]
    with FakeOpenAIServer([FakeReply(text)], model=MODEL) as server:
        out = _run(tmp_path, server, [task_line("text", "2+3?", checks, tools=MATH)])
    trial = _trials(out)["text"]
    assert (trial.stop_reason, trial.tool_calls, trial.passed) == ("completed", [], False)
    assert trial.answer == text


def test_a_server_error_ends_the_trial_as_backend_error(tmp_path: Path) -> None:
    checks = [{"type": "answer_contains", "value": "x"}]
    with FakeOpenAIServer([FakeReply(status=400)], model=MODEL) as server:
        out = _run(tmp_path, server, [task_line("down", "hi", checks, tools=[])])
    trial = _trials(out)["down"]
    assert trial.stop_reason == "backend_error" and not trial.passed
    assert trial.error and "400" in trial.error


def test_model_code_runs_in_the_sandboxed_workspace_with_the_setup_files(tmp_path: Path) -> None:
    code = "print(open('data.txt').read().count('x'))"
    script = [FakeReply(tool_calls=[("python", {"code": code})]), FakeReply("There are 3.")]
    checks = [{"type": "answer_number", "value": 3}]
    line = task_line("py", "count", checks, tools=["python"], setup={"data.txt": "x x x\n"})
    with FakeOpenAIServer(script, model=MODEL) as server:
        out = _run(tmp_path, server, [line])
        result = server.requests[1]["messages"][-1]["content"]
    assert result.strip() == "3"
    assert _trials(out)["py"].passed


def test_ids_and_limit_choose_tasks_and_trials_repeat(tmp_path: Path) -> None:
    checks = [{"type": "answer_contains", "value": "ok"}]
    lines = [task_line(name, "hi", checks, tools=[]) for name in ("a", "b", "c")]
    with FakeOpenAIServer([FakeReply("ok")], model=MODEL) as server:
        out = _run(tmp_path, server, lines, "--ids", "c,b", "--limit", "1", "--trials", "2")
    trials = read_results(out / "results.jsonl")
    assert sorted((t.task_id, t.trial) for t in trials) == [("b", 0), ("b", 1)]


def test_the_output_directory_is_an_agentloop_eval_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checks = [{"type": "answer_contains", "value": "ok"}]
    lines = [
        task_line("yes", "hi", checks, tools=[], category="talk"),
        task_line("no", "hi", [{"type": "answer_contains", "value": "zzz"}], tools=[]),
    ]
    with FakeOpenAIServer([FakeReply("ok")], model=MODEL) as server:
        out = _run(tmp_path, server, lines, "--trials", "2")
    summary = summarize(read_results(out / "results.jsonl"), 2)
    assert (summary.overall.passed_trials, summary.overall.trials) == (2, 4)
    assert {g.name: g.pass_at_1 for g in summary.categories} == {"math": 0.0, "talk": 1.0}
    transcript = json.loads((out / "transcripts/yes/trial-0.json").read_text())
    assert transcript["messages"][-1] == {"role": "assistant", "content": "ok"}
    assert json.loads((out / "run.json").read_text())["model"] == MODEL
    capsys.readouterr()
    (out / "report.html").unlink()
    assert agentloop_main(["eval", "report", str(out)]) == 0
    assert (out / "report.html").stat().st_size > 0
    assert len(load_run(out)) == 4
    assert agentloop_main(["eval", "compare", str(out), str(out)]) == 0
    assert "unchanged: 2" in capsys.readouterr().out


def test_an_output_directory_with_results_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.jsonl").write_text("{}\n")
    write_tasks(
        tmp_path / "t.jsonl", [task_line("a", "hi", [{"type": "max_tool_calls", "value": 0}])]
    )
    with pytest.raises(SystemExit, match="already holds results"):
        plain.main(
            [
                str(tmp_path / "t.jsonl"),
                "--base-url",
                "http://127.0.0.1:9/v1",
                "--out",
                str(tmp_path / "out"),
            ]
        )


def test_resume_runs_only_the_missing_trials(tmp_path: Path) -> None:
    checks = [{"type": "answer_contains", "value": "ok"}]
    lines = [task_line(name, "hi", checks, tools=[]) for name in ("a", "b")]
    with FakeOpenAIServer([FakeReply("ok")], model=MODEL) as server:
        out = _run(tmp_path, server, lines, "--ids", "a")
        _run(tmp_path, server, lines, "--resume")
        sent = len(server.requests)
    assert sent == 2  # a once, then b only
    trials = read_results(out / "results.jsonl")
    assert sorted(t.task_id for t in trials) == ["a", "b"]
