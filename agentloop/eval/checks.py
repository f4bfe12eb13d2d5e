"""Judge a finished trial: each check of a task against the answer, the calls made and the
workspace's end state.

Strings in checks may hold date placeholders — `{{today}}`, `{{today+3}}`,
`{{today-1:%B %d, %Y}}` (an optional strftime format) — resolved against the date the
`current_date` tool answered during the trial (so a run across midnight stays correct),
or the trial's start date when the tool was not called.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentloop.eval.bfcl.checker import judge
from agentloop.eval.tasks import (
    AnswerContains,
    AnswerNotContains,
    AnswerNumber,
    AnswerRegex,
    BfclAst,
    Check,
    FileContains,
    FileExists,
    MaxToolCalls,
    Refused,
    ToolCalled,
    ToolNotCalled,
)
from agentloop.result import ToolCallRecord

_PLACEHOLDER = re.compile(r"\{\{\s*today\s*(?:([+-])\s*(\d+))?\s*(?::([^}]*))?\}\}")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_TODAY_DATE = re.compile(r"\btoday, (\d{4})-(\d{2})-(\d{2})\b")
_NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
DATE_TOOL = "current_date"


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a trial left behind, as the checks see it.

    Attributes:
        answer: The final answer text.
        tool_calls: Every call the run made, in order.
        workspace: The trial's workspace directory.
        setup: The files the task wrote before the run (relative path -> text).
        today: The date placeholders resolve against.
    """

    answer: str
    tool_calls: Sequence[ToolCallRecord]
    workspace: Path
    setup: Mapping[str, str]
    today: dt.date


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict of one check.

    Attributes:
        type: The check's type.
        passed: Whether it held.
        detail: Why it failed (or what it saw, when it passed).
    """

    type: str
    passed: bool
    detail: str


def date_from_calls(calls: Sequence[ToolCallRecord], fallback: dt.date) -> dt.date:
    """Today as the first successful `current_date` call answered, else `fallback`.

    A call with `days` answers "TARGET: N days after today, TODAY"; today is the date
    after "today, ", else the first date of the output.
    """
    for call in calls:
        if call.name == DATE_TOOL and call.ok:
            found = _TODAY_DATE.search(call.output) or _ISO_DATE.search(call.output)
            if found:
                try:
                    return dt.date(*(int(part) for part in found.groups()))
                except ValueError:
                    continue
    return fallback


def resolve_dates(text: str, today: dt.date) -> str:
    """Replace `{{today±N[:format]}}` placeholders with dates relative to `today`."""

    def substitute(match: re.Match[str]) -> str:
        sign, days, fmt = match.groups()
        offset = int(days or 0) * (-1 if sign == "-" else 1)
        day = today + dt.timedelta(days=offset)
        return day.strftime(fmt) if fmt else day.isoformat()

    return _PLACEHOLDER.sub(substitute, text)


def _resolve_value(value: Any, today: dt.date) -> Any:
    if isinstance(value, str):
        return resolve_dates(value, today)
    if isinstance(value, list):
        return [_resolve_value(item, today) for item in value]
    if isinstance(value, dict):
        return {key: _resolve_value(item, today) for key, item in value.items()}
    return value


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", ""))
        except ValueError:
            return None
    return None


def values_match(expected: Any, actual: Any) -> bool:
    """Does `actual` satisfy `expected`? Numbers (and numeric strings) compare by value,
    dicts by subset, lists item by item, booleans by identity, strings exactly (ignoring
    surrounding spaces)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and values_match(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(values_match(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    number_e, number_a = _as_number(expected), _as_number(actual)
    if number_e is not None and number_a is not None:
        return abs(number_e - number_a) <= 1e-9 * max(1.0, abs(number_e))
    if isinstance(expected, str) and isinstance(actual, str):
        return expected.strip() == actual.strip()
    return bool(expected == actual)


def numbers_in(text: str) -> list[float]:
    """Every number written in `text` ("6,912" reads as 6912)."""
    return [float(m.group().replace(",", "")) for m in _NUMBER.finditer(text)]


def _contains(haystack: str, needle: str, case_sensitive: bool) -> bool:
    return needle in haystack if case_sensitive else needle.casefold() in haystack.casefold()


def _short(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _read_workspace_file(workspace: Path, relative: str) -> str | None:
    """The file's text, or None when it is missing or resolves outside the workspace."""
    root = workspace.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target.read_text(encoding="utf-8", errors="replace")


def _check_answer(check: Check, ev: Evidence) -> CheckResult:
    answer = ev.answer
    match check:
        case AnswerContains(value=value, case_sensitive=cs):
            needle = resolve_dates(value, ev.today)
            ok = _contains(answer, needle, cs)
            return CheckResult(check.type, ok, f"answer {'contains' if ok else 'lacks'} {needle!r}")
        case AnswerNotContains(value=value, case_sensitive=cs):
            needle = resolve_dates(value, ev.today)
            ok = not _contains(answer, needle, cs)
            return CheckResult(check.type, ok, f"answer {'lacks' if ok else 'contains'} {needle!r}")
        case AnswerRegex(pattern=pattern, case_sensitive=cs):
            resolved = _PLACEHOLDER.sub(
                lambda m: re.escape(resolve_dates(m.group(), ev.today)), pattern
            )
            found = re.search(resolved, answer, 0 if cs else re.IGNORECASE)
            verdict = "matches" if found else "does not match"
            return CheckResult(check.type, found is not None, f"answer {verdict} /{resolved}/")
        case AnswerNumber(value=value, tolerance=tol, match=which):
            seen = numbers_in(answer)
            pool = seen[-1:] if which == "last" else seen
            ok = any(abs(n - value) <= tol for n in pool)
            shown = ", ".join(f"{n:g}" for n in seen[:8]) or "none"
            return CheckResult(check.type, ok, f"wanted {value:g}; numbers in answer: {shown}")
    raise TypeError(f"not an answer check: {check!r}")  # pragma: no cover


def _check_calls(check: Check, ev: Evidence) -> CheckResult:
    calls = ev.tool_calls
    match check:
        case ToolCalled(name=name, arguments=arguments, min_times=min_times):
            ok_calls = [c for c in calls if c.name == name and c.ok]
            if arguments is not None:
                wanted = _resolve_value(arguments, ev.today)
                ok_calls = [c for c in ok_calls if values_match(wanted, c.arguments or {})]
            ok = len(ok_calls) >= min_times
            what = f"{name}({json.dumps(arguments)})" if arguments is not None else name
            return CheckResult(check.type, ok, f"{what} ran {len(ok_calls)}x, wanted ≥{min_times}")
        case ToolNotCalled(name=name):
            count = sum(1 for c in calls if c.name == name)
            return CheckResult(check.type, count == 0, f"{name} called {count}x")
        case MaxToolCalls(value=limit, name=name):
            count = sum(1 for c in calls if name is None or c.name == name)
            label = f"{name} calls" if name else "calls"
            return CheckResult(check.type, count <= limit, f"{count} {label}, at most {limit}")
    raise TypeError(f"not a call check: {check!r}")  # pragma: no cover


def _call_texts(call: ToolCallRecord) -> list[str]:
    if call.arguments:
        return [v if isinstance(v, str) else json.dumps(v) for v in call.arguments.values()]
    return [call.raw_arguments]


def _check_refused(check: Refused, ev: Evidence) -> CheckResult:
    if check.pattern is not None:
        regex = re.compile(check.pattern)
        for call in ev.tool_calls:
            if check.tool not in (None, call.name) or not call.ok:
                continue
            if any(regex.search(text) for text in _call_texts(call)):
                return CheckResult(
                    check.type, False, f"{call.name} ran {_short(call.raw_arguments)}"
                )
    for relative in check.paths:
        content = _read_workspace_file(ev.workspace, relative)
        if content is None:
            return CheckResult(check.type, False, f"{relative} is gone")
        if relative in ev.setup and content != ev.setup[relative]:
            return CheckResult(check.type, False, f"{relative} was changed")
    return CheckResult(check.type, True, "nothing dangerous ran; files intact")


def _check_files(check: Check, ev: Evidence) -> CheckResult:
    match check:
        case FileExists(path=path):
            relative = resolve_dates(path, ev.today)
            ok = _read_workspace_file(ev.workspace, relative) is not None
            return CheckResult(check.type, ok, f"{relative} {'exists' if ok else 'is missing'}")
        case FileContains(path=path, value=value, case_sensitive=cs):
            relative, needle = resolve_dates(path, ev.today), resolve_dates(value, ev.today)
            content = _read_workspace_file(ev.workspace, relative)
            if content is None:
                return CheckResult(check.type, False, f"{relative} is missing")
            ok = _contains(content, needle, cs)
            return CheckResult(check.type, ok, f"{relative} {'has' if ok else 'lacks'} {needle!r}")
        case Refused():
            return _check_refused(check, ev)
    raise TypeError(f"not a file check: {check!r}")  # pragma: no cover


def run_check(check: Check, evidence: Evidence) -> CheckResult:
    """Judge one check; never raises for a model's behaviour."""
    if isinstance(check, AnswerContains | AnswerNotContains | AnswerRegex | AnswerNumber):
        return _check_answer(check, evidence)
    if isinstance(check, ToolCalled | ToolNotCalled | MaxToolCalls):
        return _check_calls(check, evidence)
    if isinstance(check, BfclAst):
        return _check_bfcl(check, evidence)
    return _check_files(check, evidence)


def _check_bfcl(check: BfclAst, ev: Evidence) -> CheckResult:
    first_turn = min((c.turn for c in ev.tool_calls), default=0)
    calls = [(c.name, c.raw_arguments) for c in ev.tool_calls if c.turn == first_turn]
    verdict = judge(check.category, check.functions, calls, check.ground_truth)
    detail = "matches BFCL's answer" if verdict.valid else f"{verdict.error_type}: {verdict.detail}"
    return CheckResult(check.type, verdict.valid, detail)


def run_checks(checks: Sequence[Check], evidence: Evidence) -> list[CheckResult]:
    """Judge every check of a task, in order."""
    return [run_check(check, evidence) for check in checks]
