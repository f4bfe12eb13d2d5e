"""Side-by-side pass rates of several `agentloop eval` runs, per category, as Markdown.

The tables in docs/eval.md come from this script: one column per run directory (or
`results.jsonl`), one row per category (with its number of tasks: at 3 trials, one trial
of a 3-task category is 11 points), pass@1 over every trial of the category's tasks, then
the overall pass@1, the trials counted, the median prompt tokens per model request (what
the model reads each turn: system prompt, tools, conversation) and the median latency per
trial.

`--common` keeps only the tasks every run has (to compare against an interrupted run).

Usage: .venv/bin/python bench/eval_table.py [--common] LABEL=RUN_DIR [LABEL=RUN_DIR ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any


def load(path: Path) -> list[dict[str, Any]]:
    """The trial records of a run directory or results file."""
    file = path / "results.jsonl" if path.is_dir() else path
    return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]


def pass_rates(records: list[dict[str, Any]]) -> dict[str, float]:
    """Category -> pass@1 (mean over tasks of each task's share of passed trials)."""
    by_task: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for record in records:
        by_task[(record["category"], record["task_id"])].append(bool(record["passed"]))
    by_category: dict[str, list[float]] = defaultdict(list)
    for (category, _), passed in by_task.items():
        share = sum(passed) / len(passed)
        by_category[category].append(share)
        by_category["overall"].append(share)
    return {category: statistics.fmean(shares) for category, shares in by_category.items()}


def task_counts(records: list[dict[str, Any]]) -> dict[str, int]:
    """Category -> how many distinct tasks the records have in it."""
    tasks: dict[str, set[str]] = defaultdict(set)
    for record in records:
        tasks[record["category"]].add(record["task_id"])
    return {category: len(ids) for category, ids in tasks.items()}


def per_turn_prompt(records: list[dict[str, Any]]) -> float:
    """Median over trials of prompt tokens per model request."""
    values = [r["prompt_tokens"] / r["turns"] for r in records if r.get("turns")]
    return statistics.median(values) if values else 0.0


def table(runs: dict[str, list[dict[str, Any]]]) -> str:
    """The Markdown table for these runs (label -> trial records)."""
    rates = {label: pass_rates(records) for label, records in runs.items()}
    categories = sorted({c for r in rates.values() for c in r if c != "overall"})
    tasks = task_counts([r for records in runs.values() for r in records])
    header = "| category | " + " | ".join(runs) + " |"
    lines = [header, "| --- |" + " ---: |" * len(runs)]
    for category in [*categories, "overall"]:
        cells = [
            f"{rates[label][category]:.0%}" if category in rates[label] else "-" for label in runs
        ]
        name = "**overall**" if category == "overall" else f"{category} ({tasks[category]})"
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    trials = [str(len(records)) for records in runs.values()]
    lines.append("| trials | " + " | ".join(trials) + " |")
    tokens = [f"{per_turn_prompt(records):.0f}" for records in runs.values()]
    lines.append("| prompt tokens per request (median) | " + " | ".join(tokens) + " |")
    latency = [f"{statistics.median(r['latency'] for r in rs):.1f} s" for rs in runs.values()]
    lines.append("| latency per trial (median) | " + " | ".join(latency) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="LABEL=RUN_DIR")
    parser.add_argument("--common", action="store_true", help="only tasks every run has")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {}
    for spec in args.runs:
        label, _, path = spec.partition("=")
        runs[label] = load(Path(path or label))
    print(table(common_tasks(runs) if args.common else runs))


def common_tasks(runs: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The runs restricted to the tasks that every one of them has."""
    shared = set.intersection(*({r["task_id"] for r in rs} for rs in runs.values()))
    return {label: [r for r in rs if r["task_id"] in shared] for label, rs in runs.items()}


if __name__ == "__main__":
    main()
