"""`agentloop eval --otel --workers 2`: each worker traces its own trials to the exporter."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("opentelemetry.exporter.otlp.proto.http")

from agentloop.cli import main
from agentloop.testing import FakeOpenAIServer
from tests.eval.helpers import fake_server_step, task_line, write_tasks
from tests.telemetry.test_otlp import Receiver, _attributes, receiver

__all__ = ["receiver"]  # the fixture


def test_workers_export_one_span_per_trial_with_the_run_nested(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    tools = ["tests.eval.helpers:add_number"]
    lines = [
        task_line("ok", "add 2 1", [{"type": "answer_number", "value": 3}], tools=tools),
        task_line("bad", "add 1 1", [{"type": "answer_number", "value": 3}], tools=tools),
    ]
    suite = write_tasks(tmp_path / "suite.jsonl", lines)
    with FakeOpenAIServer([fake_server_step]) as fake:
        args = ["eval", str(suite), "--base-url", fake.url, "--out", str(tmp_path / "run")]
        code = main([*args, "--no-progress", "--trials", "2", "--otel", "--workers", "2"])
    assert code == 0
    spans = [span for _, span in receiver.spans()]
    trials = [span for span in spans if span.name.startswith("eval_trial ")]
    verdicts = sorted(
        (str(a["agentloop.eval.task_id"]), a["agentloop.eval.trial"], a["agentloop.eval.passed"])
        for a in map(_attributes, trials)
    )
    assert verdicts == [("bad", 0, False), ("bad", 1, False), ("ok", 0, True), ("ok", 1, True)]
    trial_ids = {span.span_id for span in trials}
    runs = [span for span in spans if span.name.startswith("invoke_agent")]
    assert len(runs) == 4 and all(span.parent_span_id in trial_ids for span in runs)
