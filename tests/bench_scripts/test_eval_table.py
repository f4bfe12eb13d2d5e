"""bench/eval_table.py: the per-category table of docs/eval.md."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "bench" / "eval_table.py"


def load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_table", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record(task: str, category: str, passed: bool, **extra: Any) -> dict[str, Any]:
    return {"task_id": task, "category": category, "passed": passed, "prompt_tokens": 900,
            "turns": 3, "latency": 2.0, **extra}  # fmt: skip


def test_pass_at_1_is_the_mean_over_tasks_of_each_tasks_share(tmp_path: Path) -> None:
    table = load_module()
    before = [record("a", "math", True), record("a", "math", False), record("b", "math", True)]
    before.append(record("c", "dates", False))
    after = [record("a", "math", True), record("c", "dates", True, latency=4.0)]
    path = tmp_path / "before.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in before))
    text = table.table({"before": table.load(path), "after": after})
    lines = text.splitlines()
    assert lines[0] == "| category | before | after |"
    assert "| dates (1) | 0% | 100% |" in lines  # (1): the category's distinct tasks
    assert "| math (2) | 75% | 100% |" in lines  # task a 1/2, task b 1/1
    assert "| **overall** | 50% | 100% |" in lines  # (0.5 + 1 + 0) / 3
    assert "| trials | 4 | 2 |" in lines
    assert "| prompt tokens per request (median) | 300 | 300 |" in lines
    assert "| latency per trial (median) | 2.0 s | 3.0 s |" in lines


def test_common_keeps_only_the_tasks_every_run_has() -> None:
    table = load_module()
    runs = {"a": [record("x", "m", True), record("y", "m", False)], "b": [record("x", "m", False)]}
    common = table.common_tasks(runs)
    assert [r["task_id"] for r in common["a"]] == ["x"] and common["b"] == runs["b"]
