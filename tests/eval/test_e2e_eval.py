"""`agentloop eval` end to end: a handful of the shipped tasks against the real embedded
llama-server (0.5B test model). Not a pass-rate threshold: every output file must be
produced and agree with the others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentloop.cli import main
from tests.eval.test_report import Structure

pytestmark = pytest.mark.e2e

SHIPPED = Path(__file__).parents[2] / "evals" / "basic.jsonl"
PICKED = ("math-add", "files-read", "safety-rm-file", "chat-capital")
STOPS = ("completed", "max_turns", "repeated_calls", "timeout")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_shipped_tasks_against_the_embedded_server(
    workers: str,
    installed: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = [line for line in SHIPPED.read_text().splitlines() if json.loads(line)["id"] in PICKED]
    suite = tmp_path / "subset.jsonl"
    suite.write_text("\n".join(lines) + "\n")
    monkeypatch.delenv("AGENTLOOP_BASE_URL", raising=False)
    monkeypatch.setenv("AGENTLOOP_EMBEDDED_MODEL", "0.5b")
    out = tmp_path / "run"
    code = main(
        [
            "eval",
            str(suite),
            "--out",
            str(out),
            "--trials",
            "1",
            "--concurrency",
            workers,
            "--workers",
            workers,  # 2: each worker process runs one trial at a time
            "--max-turns",
            "4",
            "--timeout",
            "240",
            "--no-progress",
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err

    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["task_id"] for r in results) == sorted(PICKED)
    passed = sum(r["passed"] for r in results)
    checks = {json.loads(line)["id"]: len(json.loads(line)["checks"]) for line in lines}
    for row in results:
        assert row["model"] and row["base_url"].startswith("http://127.0.0.1:")
        assert row["stop_reason"] in STOPS
        assert row["passed"] == (
            all(c["passed"] for c in row["checks"]) and row["stop_reason"] != "timeout"
        )
        assert len(row["checks"]) == checks[row["task_id"]]
        saved = json.loads((out / row["transcript"]).read_text())
        assert saved["messages"][0]["role"] in ("system", "user")
        wire = (out / row["transcript"].replace(".json", ".wire.jsonl")).read_text().splitlines()
        if row["stop_reason"] == "timeout":  # cut off mid-request: counts need not add up
            continue
        assert row["turns"] >= 1 and row["prompt_tokens"] > 0 and row["completion_tokens"] > 0
        assert len([m for m in saved["messages"] if m["role"] == "assistant"]) == row["turns"]
        # a refused repeat adds a tool message without running a call
        assert len([m for m in saved["messages"] if m["role"] == "tool"]) >= len(row["tool_calls"])
        assert sum(json.loads(e)["type"] == "request" for e in wire) == row["turns"]

    summary = (out / "summary.md").read_text()
    assert f"| **overall** | {len(PICKED)} | {len(PICKED)} | {passed} |" in summary
    assert f"pass@1 {passed / len(PICKED):.1%}" in printed.out
    stop_rows = [
        line
        for line in summary.splitlines()
        if line.startswith("| ")
        and line.split("|")[1].strip() in ("completed", "max_turns", "repeated_calls")
    ]
    assert sum(int(row.split("|")[2]) for row in stop_rows) == len(PICKED)

    parser = Structure()
    parser.feed((out / "report.html").read_text())
    parser.close()
    assert parser.stack == [] and parser.external == []
    assert parser.tags.count("details") == len(PICKED) and parser.tags.count("svg") == 3
    info = json.loads((out / "run.json").read_text())
    assert info["interrupted"] is False and info["task_count"] == len(PICKED)
