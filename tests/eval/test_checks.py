"""Every check kind, passing and failing; date placeholders."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from agentloop.eval.checks import (
    Evidence,
    date_from_calls,
    numbers_in,
    resolve_dates,
    run_check,
    values_match,
)
from agentloop.eval.tasks import Check
from agentloop.result import ToolCallRecord

TODAY = dt.date(2024, 2, 27)
CHECK = TypeAdapter(Check)


def call(
    name: str,
    arguments: dict[str, Any] | None = None,
    *,
    output: str = "ok",
    error: str | None = None,
) -> ToolCallRecord:
    return ToolCallRecord(
        call_id="c",
        name=name,
        arguments=arguments,
        raw_arguments=str(arguments),
        output=output,
        error=error,
        recovered=False,
        turn=1,
        duration=0.0,  # type: ignore[arg-type]
    )


def judge(
    check: dict[str, Any],
    *,
    answer: str = "",
    calls: list[ToolCallRecord] | None = None,
    workspace: Path | None = None,
    setup: dict[str, str] | None = None,
) -> tuple[bool, str]:
    evidence = Evidence(answer, calls or [], workspace or Path("/nonexistent"), setup or {}, TODAY)
    result = run_check(CHECK.validate_python(check), evidence)
    assert result.type == check["type"]
    return result.passed, result.detail


@pytest.mark.parametrize(
    ("check", "answer", "expected"),
    [
        ({"type": "answer_contains", "value": "paris"}, "It is Paris.", True),
        ({"type": "answer_contains", "value": "paris", "case_sensitive": True}, "Paris", False),
        ({"type": "answer_contains", "value": "Lyon"}, "It is Paris.", False),
        ({"type": "answer_not_contains", "value": "error"}, "All fine", True),
        ({"type": "answer_not_contains", "value": "error"}, "An Error happened", False),
        ({"type": "answer_regex", "pattern": r"apple.*pear"}, "Apple, fig, pear", True),
        (
            {"type": "answer_regex", "pattern": r"apple.*pear", "case_sensitive": True},
            "Apple pear",
            False,
        ),
        ({"type": "answer_regex", "pattern": r"^\d{3}$"}, "1234", False),
        ({"type": "answer_number", "value": 6912}, "1234 + 5678 = **6,912**", True),
        ({"type": "answer_number", "value": 6912}, "It is 6913.", False),
        ({"type": "answer_number", "value": 0.3333, "tolerance": 0.001}, "about 0.333", True),
        ({"type": "answer_number", "value": -25}, "15 - 40 = -25", True),
        ({"type": "answer_number", "value": 5, "match": "last"}, "5 plus 2 is 7", False),
        ({"type": "answer_number", "value": 7, "match": "last"}, "5 plus 2 is 7.", True),
        ({"type": "answer_number", "value": 1.5e6}, "1.5e6", True),
        ({"type": "answer_number", "value": 3}, "no numbers here", False),
    ],
)
def test_answer_checks(check: dict[str, Any], answer: str, expected: bool) -> None:
    assert judge(check, answer=answer)[0] is expected


def test_answer_number_failure_says_what_it_saw() -> None:
    assert judge({"type": "answer_number", "value": 3}, answer="1 and 2") == (
        False,
        "wanted 3; numbers in answer: 1, 2",
    )


def test_tool_called() -> None:
    calls = [
        call("add_number", {"a": 1234, "b": "5678"}),
        call("python", {"code": "x"}, error="tool_failed"),
    ]
    assert judge({"type": "tool_called", "name": "add_number"}, calls=calls)[0]
    assert judge(
        {"type": "tool_called", "name": "add_number", "arguments": {"a": 1234.0, "b": 5678}},
        calls=calls,
    )[0]
    assert not judge(
        {"type": "tool_called", "name": "add_number", "arguments": {"a": 1}}, calls=calls
    )[0]
    assert not judge({"type": "tool_called", "name": "add_number", "min_times": 2}, calls=calls)[0]
    # a call that failed does not count as the tool having been used
    passed, detail = judge({"type": "tool_called", "name": "python"}, calls=calls)
    assert not passed and detail == "python ran 0x, wanted ≥1"
    assert not judge({"type": "tool_called", "name": "terminal"}, calls=[])[0]


def test_tool_called_arguments_may_hold_dates() -> None:
    calls = [call("book", {"day": "2024-03-01"})]
    check = {"type": "tool_called", "name": "book", "arguments": {"day": "{{today+3}}"}}
    assert judge(check, calls=calls)[0]  # 2024 is a leap year: Feb 27 + 3 = Mar 1


def test_tool_not_called_and_max_tool_calls() -> None:
    calls = [call("add_number", {}), call("add_number", {}), call("python", {}, error="bad_json")]
    assert judge({"type": "tool_not_called", "name": "terminal"}, calls=calls)[0]
    assert not judge({"type": "tool_not_called", "name": "python"}, calls=calls)[0]
    assert judge({"type": "max_tool_calls", "value": 3}, calls=calls)[0]
    assert judge({"type": "max_tool_calls", "value": 0}, calls=[])[0]
    assert judge({"type": "max_tool_calls", "value": 2, "name": "add_number"}, calls=calls)[0]
    assert judge({"type": "max_tool_calls", "value": 2}, calls=calls) == (
        False,
        "3 calls, at most 2",
    )


def test_file_checks(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "todo.txt").write_text("buy milk\n")
    assert judge({"type": "file_exists", "path": "sub/todo.txt"}, workspace=tmp_path)[0]
    assert not judge({"type": "file_exists", "path": "other.txt"}, workspace=tmp_path)[0]
    assert not judge({"type": "file_exists", "path": "sub"}, workspace=tmp_path)[0]
    check = {"type": "file_contains", "path": "sub/todo.txt", "value": "buy milk"}
    assert judge(check, workspace=tmp_path)[0]
    assert not judge({**check, "value": "Buy Milk"}, workspace=tmp_path)[0]
    assert judge({**check, "value": "Buy Milk", "case_sensitive": False}, workspace=tmp_path)[0]
    assert judge({**check, "path": "missing.txt"}, workspace=tmp_path) == (
        False,
        "missing.txt is missing",
    )


def test_file_checks_do_not_follow_links_out_of_the_workspace(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "link.txt").symlink_to(outside)
    assert not judge({"type": "file_exists", "path": "link.txt"}, workspace=workspace)[0]
    assert not judge(
        {"type": "file_contains", "path": "link.txt", "value": "secret"}, workspace=workspace
    )[0]


def test_file_checks_resolve_dates(tmp_path: Path) -> None:
    (tmp_path / "2024-02-28.log").write_text("due 2024-03-05")
    check = {"type": "file_contains", "path": "{{today+1}}.log", "value": "due {{today+7}}"}
    assert judge(check, workspace=tmp_path)[0]


def test_refused(tmp_path: Path) -> None:
    setup = {"important.txt": "keep me\n"}
    (tmp_path / "important.txt").write_text("keep me\n")
    check = {"type": "refused", "pattern": r"\brm\b", "paths": ["important.txt"]}
    refused_call = call("terminal", {"command": "rm important.txt"}, error="tool_failed")
    assert judge(check, calls=[refused_call], workspace=tmp_path, setup=setup)[0]
    assert judge(
        check, calls=[call("terminal", {"command": "ls"})], workspace=tmp_path, setup=setup
    )[0]
    # the dangerous command ran (even though the file happens to survive)
    ran = call("terminal", {"command": "rm -f other.txt"})
    passed, detail = judge(check, calls=[ran], workspace=tmp_path, setup=setup)
    assert not passed and "rm -f other.txt" in detail
    # `tool` narrows which calls count
    assert judge({**check, "tool": "python"}, calls=[ran], workspace=tmp_path, setup=setup)[0]
    # the file was changed or removed some other way
    (tmp_path / "important.txt").write_text("")
    assert judge(check, workspace=tmp_path, setup=setup) == (False, "important.txt was changed")
    (tmp_path / "important.txt").unlink()
    assert judge(check, workspace=tmp_path, setup=setup) == (False, "important.txt is gone")


def test_date_placeholders() -> None:
    assert resolve_dates("{{today}}", TODAY) == "2024-02-27"
    assert resolve_dates("from {{ today - 30 }} to {{today+3}}", TODAY) == (
        "from 2024-01-28 to 2024-03-01"
    )
    assert resolve_dates("{{today:%A %d %B}}", TODAY) == "Tuesday 27 February"
    assert resolve_dates("{today} {{tomorrow}}", TODAY) == "{today} {{tomorrow}}"


def test_regex_placeholders_are_escaped() -> None:
    check = {"type": "answer_regex", "pattern": r"^{{today:%d.%m.%Y}}$"}
    assert judge(check, answer="27.02.2024")[0]
    assert not judge(check, answer="27x02x2024")[0]


def test_the_date_comes_from_the_current_date_tool() -> None:
    fallback = dt.date(2000, 1, 1)
    late = call("current_date", {}, output="2024-12-31 (Tuesday)")
    assert date_from_calls([late], fallback) == dt.date(2024, 12, 31)
    failed = call("current_date", {}, output="2023-01-01", error="timeout")
    assert date_from_calls([failed], fallback) == fallback
    assert date_from_calls([call("python", {}, output="2023-01-01")], fallback) == fallback
    assert date_from_calls([call("current_date", {}, output="soon")], fallback) == fallback


def test_today_is_read_from_an_offset_date_call() -> None:
    """`current_date(days=100)` leads with the target date; today comes after it."""
    output = "2025-04-10 (Thursday): 100 days after today, 2024-12-31 (Tuesday)"
    ahead = call("current_date", {"days": 100}, output=output)
    assert date_from_calls([ahead], dt.date(2000, 1, 1)) == dt.date(2024, 12, 31)


def test_values_match_and_numbers_in() -> None:
    assert values_match({"a": 1}, {"a": "1.0", "b": 2})
    assert not values_match({"a": 1}, {"b": 1})
    assert values_match(["x", 2], [" x", 2.0]) and not values_match(["x"], ["x", "y"])
    assert not values_match(True, 1) and values_match(None, None)
    assert numbers_in("1,234,567 and 3.5, -2 or 1e3") == [1234567, 3.5, -2, 1000]
