"""Aggregate trials into the numbers people look at, and write them as `summary.md`.

pass@1 is the mean, over tasks, of the fraction of a task's trials that passed. pass^k
(τ-bench) is the mean, over tasks, of the chance that k trials drawn from its n all pass,
C(c, k) / C(n, k): it rewards a model that is reliably right, not right once in a while.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from agentloop.eval.results import RunInfo, TrialResult


@dataclass(frozen=True, slots=True)
class GroupStats:
    """Pass rates of a group of tasks (all of them, or one category)."""

    name: str
    tasks: int
    trials: int
    passed_trials: int
    pass_at_1: float
    pass_hat_k: float


@dataclass(frozen=True, slots=True)
class Summary:
    """Everything `summary.md` and the report show, computed once.

    Attributes:
        k: Trials per task (the k of pass^k).
        overall: All tasks.
        categories: One entry per category, sorted by name.
        latency_p50: Median trial latency, seconds.
        latency_p95: 95th percentile trial latency, seconds.
        latency_max: Slowest trial, seconds.
        mean_turns: Turns per trial.
        prompt_tokens: Summed over trials.
        completion_tokens: Summed over trials.
        tool_calls: Calls made over all trials.
        recovered_calls: Calls recovered from text.
        compactions: Times a request was compacted to fit the context window.
        failed_calls: Calls that ended in an error, by error kind.
        stop_reasons: Trials per stop reason.
    """

    k: int
    overall: GroupStats
    categories: list[GroupStats]
    latency_p50: float
    latency_p95: float
    latency_max: float
    mean_turns: float
    prompt_tokens: int
    completion_tokens: int
    tool_calls: int
    recovered_calls: int
    compactions: int
    failed_calls: dict[str, int]
    stop_reasons: dict[str, int]

    @property
    def recovered_rate(self) -> float:
        """Share of calls recovered from text (0 when no call was made)."""
        return self.recovered_calls / self.tool_calls if self.tool_calls else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def pass_hat_k(passed: int, trials: int, k: int) -> float:
    """Chance that k of a task's `trials` trials, drawn without replacement, all passed."""
    k = min(k, trials)
    if k <= 0:
        return 0.0
    return math.comb(passed, k) / math.comb(trials, k)


def by_task(trials: Iterable[TrialResult]) -> dict[str, list[TrialResult]]:
    """Trials grouped by task id, each group ordered by trial index."""
    grouped: dict[str, list[TrialResult]] = defaultdict(list)
    for trial in trials:
        grouped[trial.task_id].append(trial)
    return {task: sorted(group, key=lambda t: t.trial) for task, group in grouped.items()}


def _group(name: str, tasks: dict[str, list[TrialResult]], k: int) -> GroupStats:
    rates: list[float] = []
    hats: list[float] = []
    passed = total = 0
    for group in tasks.values():
        count = sum(1 for t in group if t.passed)
        rates.append(count / len(group))
        hats.append(pass_hat_k(count, len(group), k))
        passed += count
        total += len(group)
    return GroupStats(name, len(tasks), total, passed, _mean(rates), _mean(hats))


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def summarize(trials: Sequence[TrialResult], k: int) -> Summary:
    """Aggregate trials; `k` is the number of trials per task the run asked for."""
    tasks = by_task(trials)
    per_category: dict[str, dict[str, list[TrialResult]]] = defaultdict(dict)
    for task_id, group in tasks.items():
        per_category[group[0].category][task_id] = group
    latencies = [t.latency for t in trials]
    calls = [c for t in trials for c in t.tool_calls]
    return Summary(
        k=k,
        overall=_group("overall", tasks, k),
        categories=[_group(name, per_category[name], k) for name in sorted(per_category)],
        latency_p50=percentile(latencies, 50),
        latency_p95=percentile(latencies, 95),
        latency_max=max(latencies, default=0.0),
        mean_turns=sum(t.turns for t in trials) / len(trials) if trials else 0.0,
        prompt_tokens=sum(t.prompt_tokens for t in trials),
        completion_tokens=sum(t.completion_tokens for t in trials),
        tool_calls=len(calls),
        recovered_calls=sum(1 for c in calls if c.recovered),
        compactions=sum(t.compactions for t in trials),
        failed_calls=dict(Counter(c.error for c in calls if c.error).most_common()),
        stop_reasons=dict(Counter(t.stop_reason for t in trials).most_common()),
    )


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _rates_table(summary: Summary) -> list[str]:
    k = summary.k
    lines = [
        f"| group | tasks | trials | passed | pass@1 | pass^{k} |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for group in [summary.overall, *summary.categories]:
        name = f"**{group.name}**" if group is summary.overall else group.name
        lines.append(
            f"| {name} | {group.tasks} | {group.trials} | {group.passed_trials} "
            f"| {_pct(group.pass_at_1)} | {_pct(group.pass_hat_k)} |"
        )
    return lines


def _failures(trials: Sequence[TrialResult], limit: int = 50) -> list[str]:
    failing = [
        (task, group) for task, group in by_task(trials).items() if not all(t.passed for t in group)
    ]
    if not failing:
        return ["Every trial passed."]
    lines = ["| task | category | passed | first failure |", "| --- | --- | ---: | --- |"]
    for task, group in sorted(failing)[:limit]:
        first = next(t for t in group if not t.passed)
        reason = (first.failure or first.stop_reason).replace("|", "\\|").replace("\n", " ")
        passed = sum(1 for t in group if t.passed)
        lines.append(f"| {task} | {group[0].category} | {passed}/{len(group)} | {reason} |")
    if len(failing) > limit:
        lines.append(f"\n… and {len(failing) - limit} more (see results.jsonl).")
    return lines


def render_markdown(summary: Summary, trials: Sequence[TrialResult], info: RunInfo) -> str:
    """The text of `summary.md`."""
    state = " (interrupted: partial results)" if info.interrupted else ""
    servers = ", ".join(info.base_urls) or "-"
    s = summary
    out = [
        f"# Eval summary: {info.tasks_file}{state}",
        "",
        f"Model `{info.model or '-'}` on {servers}; {info.trials} trial(s) per task, "
        f"concurrency {info.concurrency}; {s.overall.tasks} of {info.task_count} tasks run, "
        f"{s.overall.trials} trials.",
        "",
        "## Pass rates",
        "",
        *_rates_table(s),
        "",
        "## Latency and tokens",
        "",
        f"- Latency per trial: p50 {s.latency_p50:.2f} s, p95 {s.latency_p95:.2f} s, "
        f"max {s.latency_max:.2f} s",
        f"- Turns per trial: {s.mean_turns:.2f}",
        f"- Tokens: {s.prompt_tokens:,} prompt + {s.completion_tokens:,} completion "
        f"= {s.prompt_tokens + s.completion_tokens:,}"
        + (
            f" ({(s.prompt_tokens + s.completion_tokens) / len(trials):,.0f} per trial)"
            if trials
            else ""
        ),
        "",
        "## Tool calls",
        "",
        f"- Calls: {s.tool_calls:,}; recovered from text: {s.recovered_calls:,} "
        f"({_pct(s.recovered_rate)})",
        f"- Context compactions: {s.compactions:,}",
        "- Failed calls: "
        + (", ".join(f"{kind} {n}" for kind, n in s.failed_calls.items()) or "none"),
        "",
        "## Stop reasons",
        "",
        "| stop reason | trials |",
        "| --- | ---: |",
        *(f"| {reason} | {n} |" for reason, n in s.stop_reasons.items()),
        "",
        "## Failing tasks",
        "",
        *_failures(trials),
        "",
    ]
    return "\n".join(out)
