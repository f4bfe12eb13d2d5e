"""`agentloop eval compare RUN_A RUN_B`: what got better and what got worse, task by task."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agentloop.eval.results import RESULTS_FILE, TrialResult, read_results
from agentloop.eval.summary import by_task, summarize

_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class TaskChange:
    """One task's pass rate in both runs (None where the run lacks the task)."""

    task_id: str
    category: str
    before: float | None
    after: float | None
    failure_after: str | None

    @property
    def delta(self) -> float:
        """After minus before (0 when either run lacks the task)."""
        if self.before is None or self.after is None:
            return 0.0
        return self.after - self.before


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two runs side by side."""

    pass_before: float
    pass_after: float
    better: list[TaskChange]
    worse: list[TaskChange]
    unchanged: int
    only_before: list[str]
    only_after: list[str]


def _rates(trials: list[TrialResult]) -> dict[str, tuple[str, float, str | None]]:
    rates = {}
    for task, group in by_task(trials).items():
        failing = next((t for t in group if not t.passed), None)
        reason = (failing.failure or failing.stop_reason) if failing else None
        rates[task] = (group[0].category, sum(t.passed for t in group) / len(group), reason)
    return rates


def load_run(path: Path) -> list[TrialResult]:
    """The trials of a run directory (or of a results.jsonl file).

    Raises:
        FileNotFoundError: There are no results there.
    """
    file = path / RESULTS_FILE if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"{path}: no {RESULTS_FILE} here")
    return read_results(file)


def compare_runs(before: list[TrialResult], after: list[TrialResult]) -> Comparison:
    """Compare two runs' pass rates, task by task."""
    a, b = _rates(before), _rates(after)
    changes = [
        TaskChange(task, b[task][0], a[task][1], b[task][1], b[task][2])
        for task in sorted(a.keys() & b.keys())
    ]
    better = sorted((c for c in changes if c.delta > _EPSILON), key=lambda c: -c.delta)
    worse = sorted((c for c in changes if c.delta < -_EPSILON), key=lambda c: c.delta)
    k_before = max((t.trial for t in before), default=0) + 1
    k_after = max((t.trial for t in after), default=0) + 1
    return Comparison(
        pass_before=summarize(before, k_before).overall.pass_at_1,
        pass_after=summarize(after, k_after).overall.pass_at_1,
        better=better,
        worse=worse,
        unchanged=len(changes) - len(better) - len(worse),
        only_before=sorted(a.keys() - b.keys()),
        only_after=sorted(b.keys() - a.keys()),
    )


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def render_comparison(result: Comparison, name_a: str, name_b: str) -> str:
    """A plain-text report of a comparison."""
    delta = result.pass_after - result.pass_before
    lines = [
        f"pass@1: {result.pass_before:.1%} ({name_a}) -> {result.pass_after:.1%} ({name_b}), "
        f"{delta * 100:+.1f} points",
        f"better: {len(result.better)}  worse: {len(result.worse)}  unchanged: {result.unchanged}",
    ]
    for title, items in (("Better", result.better), ("Worse", result.worse)):
        if items:
            lines += ["", f"{title}:"]
            width = max(len(c.task_id) for c in items)
            for c in items:
                why = f"  ({c.failure_after})" if title == "Worse" and c.failure_after else ""
                lines.append(
                    f"  {c.task_id:<{width}}  {_rate(c.before):>4} -> {_rate(c.after):>4}  "
                    f"[{c.category}]{why}"
                )
    if result.only_before:
        lines += ["", f"Only in {name_a}: {', '.join(result.only_before)}"]
    if result.only_after:
        lines += ["", f"Only in {name_b}: {', '.join(result.only_after)}"]
    return "\n".join(lines) + "\n"
