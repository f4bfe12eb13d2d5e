"""Task files: one readable error per bad line (file, line, field), and nothing runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentloop.eval import CHECK_TYPES, TaskFileError, load_tasks
from agentloop.eval.toolsets import check_tool_names
from tests.eval.helpers import task_line, write_tasks
from tools.builtin import BUILTIN_NAMES

GOOD = task_line("ok", "add 1 2", [{"type": "answer_number", "value": 3}])
SHIPPED = Path(__file__).parents[2] / "evals" / "basic.jsonl"


def errors_for(tmp_path: Path, *lines: str) -> list[str]:
    path = write_tasks(tmp_path / "t.jsonl", [GOOD, *lines])
    with pytest.raises(TaskFileError) as caught:
        load_tasks(path)
    return [e.replace(f"{path}:", "F:") for e in caught.value.errors]


def test_a_good_file_loads_with_line_numbers(tmp_path: Path) -> None:
    path = write_tasks(tmp_path / "t.jsonl", ["# a comment", "", GOOD])
    (task,) = load_tasks(path)
    assert task.id == "ok" and task.line == 3 and task.prompt == "add 1 2"
    assert task.tools is None and task.setup == {}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"id": "x", "category": "m"', "F:2: invalid JSON: Expecting ',' delimiter (column 28)"),
        ("[1, 2]", "F:2: a task must be a JSON object"),
        (
            task_line("x", "p", [{"type": "answer_contains"}]),
            "F:2: checks[0].value: Field required",
        ),
        (
            task_line("x", "p", [{"type": "answer_number", "value": 1}, {"type": "nope"}]),
            f"F:2: checks[1].type: unknown check type 'nope' (known: {', '.join(CHECK_TYPES)})",
        ),
        (
            task_line("x", "p", [{"type": "answer_number", "value": "many"}]),
            "F:2: checks[0].value: Input should be a valid number, unable to parse string as a "
            "number",
        ),
        (
            task_line("x", "p", [{"type": "file_exists", "path": "../etc/passwd"}]),
            "F:2: checks[0].path: '../etc/passwd' must be a relative path inside the workspace",
        ),
        (
            task_line("x", "p", [{"type": "answer_regex", "pattern": "(unclosed"}]),
            "F:2: checks[0].pattern: not a valid regular expression: missing ), unterminated "
            "subpattern at position 0",
        ),
        (
            task_line("x", "p", [{"type": "refused"}]),
            "F:2: checks[0]: give `pattern`, `paths` or both",
        ),
        (
            task_line("x", "p", []),
            "F:2: checks: List should have at least 1 item after validation, not 0",
        ),
        (
            task_line("x", "p", [{"type": "answer_contains", "value": "a"}], colour="red"),
            "F:2: colour: Extra inputs are not permitted",
        ),
        (
            task_line("x", "p", [{"type": "answer_contains", "value": "a"}], max_turns=0),
            "F:2: max_turns: Input should be greater than or equal to 1",
        ),
        (
            task_line("x", "p", [{"type": "answer_contains", "value": "a"}], setup={"/abs": ""}),
            "F:2: setup: '/abs' must be a relative path inside the workspace",
        ),
        (
            task_line("x", "p", [{"type": "answer_contains", "value": "a"}], tools=["a:b:c"]),
            "F:2: tools: 'a:b:c': user tools are written 'package.module:attribute'",
        ),
        (
            task_line("bad id", "p", [{"type": "answer_contains", "value": "a"}]),
            "F:2: id: use letters, digits, '_', '.' and '-' (starting with a letter/digit)",
        ),
        (
            json.dumps(
                {"id": "x", "category": "m", "checks": [{"type": "max_tool_calls", "value": 0}]}
            ),
            "F:2: (task): give exactly one of `prompt` and `messages`",
        ),
        (
            json.dumps(
                {
                    "id": "x",
                    "category": "m",
                    "prompt": "p",
                    "messages": [{"role": "user", "content": "p"}],
                    "checks": [{"type": "max_tool_calls", "value": 0}],
                }
            ),
            "F:2: (task): give exactly one of `prompt` and `messages`",
        ),
        (
            json.dumps(
                {
                    "id": "x",
                    "category": "m",
                    "messages": [{"content": "p"}],
                    "checks": [{"type": "max_tool_calls", "value": 0}],
                }
            ),
            "F:2: messages: message 0 needs a role of system, user, assistant or tool",
        ),
        (
            json.dumps(
                {"id": "x", "prompt": "p", "checks": [{"type": "max_tool_calls", "value": 0}]}
            ),
            "F:2: category: Field required",
        ),
        (GOOD, "F:2: id: duplicate id 'ok' (first on line 1)"),
    ],
)
def test_one_error_per_bad_line(tmp_path: Path, line: str, expected: str) -> None:
    assert errors_for(tmp_path, line) == [expected]


def test_every_bad_line_is_reported(tmp_path: Path) -> None:
    errors = errors_for(tmp_path, "{", GOOD.replace('"ok"', '"b"'), "nope", GOOD)
    assert [e.split(":")[1] for e in errors] == ["2", "4", "5"]


def test_several_problems_on_one_line_are_counted(tmp_path: Path) -> None:
    line = json.dumps({"id": "x", "category": "", "prompt": 3, "checks": []})
    (error,) = errors_for(tmp_path, line)
    assert error.startswith("F:2: ") and error.endswith("(and 2 more problems)")


def test_empty_or_missing_file(tmp_path: Path) -> None:
    empty = write_tasks(tmp_path / "e.jsonl", ["# nothing", ""])
    with pytest.raises(TaskFileError, match="no tasks in the file"):
        load_tasks(empty)
    with pytest.raises(TaskFileError, match="cannot read"):
        load_tasks(tmp_path / "missing.jsonl")


def test_the_shipped_suite_is_valid_and_covers_the_tutorial() -> None:
    tasks = load_tasks(SHIPPED)
    assert len(tasks) >= 30
    categories = {t.category for t in tasks}
    assert {
        "math",
        "math_chained",
        "math_parallel",
        "dates",
        "python",
        "files",
        "safety",
        "no_tool",
    } <= categories
    assert check_tool_names(tasks, str(SHIPPED), set(BUILTIN_NAMES)) == []
    kinds = {c.type for t in tasks for c in t.checks}
    assert {
        "answer_number",
        "answer_contains",
        "tool_called",
        "refused",
        "file_contains",
        "max_tool_calls",
        "answer_regex",
    } <= kinds
    assert any("{{today+3}}" in str(getattr(c, "value", "")) for t in tasks for c in t.checks)
    assert all(t.setup for t in tasks if t.category == "files" and t.id != "files-create")
