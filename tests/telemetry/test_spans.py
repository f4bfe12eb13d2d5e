"""Spans from a run's events (in-memory exporter) and eval trials as spans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from agentloop import arun_agent, tool
from agentloop.config import AgentConfig
from agentloop.eval import EvalOptions, FixedTools, load_tasks, run_eval
from agentloop.result import Usage
from agentloop.telemetry import TelemetryConfig
from agentloop.telemetry.spans import RunTracer, TraceSettings
from agentloop.telemetry.tracing import Tracing, TrialTracer
from agentloop.testing import ScriptedBackend, reply
from tests.common_tools import add_number
from tests.eval.helpers import TEST_TOOLS, scripted_step, standard_tasks


@tool
def broken() -> str:
    """Always fails."""
    raise RuntimeError("disk on fire")


def _tracing() -> tuple[Tracing, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    return Tracing(TelemetryConfig(), exporter=exporter), exporter


def _by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, list[ReadableSpan]]:
    named: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        named.setdefault(span.name, []).append(span)
    return named


async def _traced_run(capture: bool) -> tuple[dict[str, list[ReadableSpan]], str]:
    tracing, exporter = _tracing()
    backend = ScriptedBackend(
        [
            reply("", ("add_number", {"a": 1, "b": 2}), ("broken", {}), usage=Usage(40, 7, 47)),
            reply("The sum is 3.", usage=Usage(60, 5, 65)),
        ]
    )
    settings = TraceSettings(provider="llama.cpp", model="qwen-test", capture_content=capture)
    tracer = RunTracer(tracing.tracer, settings)
    result = await arun_agent(
        "Add 1 and 2.", tools=[add_number, broken], backend=backend, on_event=tracer
    )
    tracing.shutdown()
    return _by_name(exporter.get_finished_spans()), result.tool_calls[0].call_id


async def test_run_turns_and_calls_become_genai_spans() -> None:
    spans, first_call = await _traced_run(capture=False)
    (run,) = spans["invoke_agent agentloop"]
    chats = spans["chat qwen-test"]
    (add,) = spans["execute_tool add_number"]
    (failed,) = spans["execute_tool broken"]
    assert len(chats) == 2
    assert run.attributes is not None and run.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert run.attributes["gen_ai.usage.input_tokens"] == 100
    assert run.attributes["gen_ai.usage.output_tokens"] == 12
    assert run.attributes["agentloop.stop_reason"] == "completed"
    for child in [*chats, add, failed]:
        assert child.parent is not None and child.parent.span_id == run.context.span_id
        assert child.context.trace_id == run.context.trace_id
    first = min(chats, key=lambda s: s.start_time or 0)
    assert first.attributes is not None
    assert first.attributes["gen_ai.operation.name"] == "chat"
    assert first.attributes["gen_ai.provider.name"] == "llama.cpp"
    assert first.attributes["gen_ai.request.model"] == "qwen-test"
    assert first.attributes["gen_ai.usage.input_tokens"] == 40
    assert tuple(first.attributes["gen_ai.response.finish_reasons"]) == ("tool_calls",)  # type: ignore[arg-type]
    assert (first.start_time or 0) < (first.end_time or 0) <= (add.start_time or 0)
    assert add.attributes is not None and add.attributes["gen_ai.tool.call.id"] == first_call
    assert add.attributes["gen_ai.tool.name"] == "add_number"
    assert add.status.status_code == StatusCode.UNSET
    assert failed.status.status_code == StatusCode.ERROR
    assert failed.attributes is not None and failed.attributes["error.type"] == "tool_failed"
    # no content unless asked for
    every = [run, *chats, add, failed]
    assert not any(
        k.startswith(("gen_ai.tool.call.arg", "gen_ai.tool.call.res", "gen_ai.output"))
        for s in every
        for k in (s.attributes or {})
    )


async def test_content_is_recorded_only_on_opt_in() -> None:
    spans, _ = await _traced_run(capture=True)
    (add,) = spans["execute_tool add_number"]
    (run,) = spans["invoke_agent agentloop"]
    assert add.attributes is not None and run.attributes is not None
    assert json.loads(str(add.attributes["gen_ai.tool.call.arguments"])) == {"a": 1, "b": 2}
    assert add.attributes["gen_ai.tool.call.result"] == "3"
    output = json.loads(str(run.attributes["gen_ai.output.messages"]))
    assert output[0]["parts"][0]["content"] == "The sum is 3."


async def test_a_backend_error_marks_the_run_span_as_an_error() -> None:
    from agentloop.errors import BackendHTTPError

    tracing, exporter = _tracing()
    backend = ScriptedBackend([BackendHTTPError("boom", status=500)])
    await arun_agent(
        "hi", tools=[], backend=backend, on_event=RunTracer(tracing.tracer, TraceSettings())
    )
    tracing.shutdown()
    (run,) = exporter.get_finished_spans()
    assert run.status.status_code == StatusCode.ERROR
    assert run.attributes is not None and run.attributes["error.type"] == "BackendHTTPError"
    assert run.attributes["agentloop.stop_reason"] == "backend_error"
    assert "boom" in (run.status.description or "")


async def test_eval_trials_are_spans_with_task_trial_and_verdict(tmp_path: Path) -> None:
    tasks = load_tasks(standard_tasks(tmp_path / "tasks.jsonl"))
    tracing, exporter = _tracing()
    await run_eval(
        tasks,
        [AgentConfig(base_url="http://scripted.invalid/v1", max_retries=0, stream=False)],
        EvalOptions(out_dir=tmp_path / "run", trials=2, concurrency=3),
        provider=FixedTools(TEST_TOOLS),
        backend_factory=lambda c: ScriptedBackend([scripted_step]),  # type: ignore[list-item]
        observer=TrialTracer(tracing, run_id="run-1"),
    )
    tracing.shutdown()
    spans = [s for s in exporter.get_finished_spans() if s.name.startswith("eval_trial ")]
    assert len(spans) == 2 * len(tasks)
    seen = {}
    for span in spans:
        attrs = span.attributes or {}
        assert attrs["agentloop.eval.run"] == "run-1"
        seen[(attrs["agentloop.eval.task_id"], attrs["agentloop.eval.trial"])] = attrs
    assert seen[("add", 0)]["agentloop.eval.passed"] is True
    assert seen[("wrong", 1)]["agentloop.eval.passed"] is False
    assert "wanted 3" in str(seen[("wrong", 1)]["agentloop.eval.failure"])
    assert len({s.context.trace_id for s in spans}) == len(spans)  # one trace per trial


async def test_the_run_inside_a_trial_nests_under_the_trial_span(tmp_path: Path) -> None:
    tasks = load_tasks(standard_tasks(tmp_path / "tasks.jsonl"))[:1]
    tracing, exporter = _tracing()
    await run_eval(
        tasks,
        [AgentConfig(base_url="http://scripted.invalid/v1", max_retries=0, stream=False)],
        EvalOptions(out_dir=tmp_path / "run", trials=1, concurrency=1),
        provider=FixedTools(TEST_TOOLS),
        backend_factory=lambda c: ScriptedBackend([scripted_step]),  # type: ignore[list-item]
        observer=TrialTracer(tracing, run_id="run-2"),
    )
    tracing.shutdown()
    spans = exporter.get_finished_spans()
    [trial] = [s for s in spans if s.name.startswith("eval_trial ")]
    [run] = [s for s in spans if s.name.startswith("invoke_agent")]
    assert run.parent is not None and run.parent.span_id == trial.context.span_id
    chats = [s for s in spans if s.name.startswith("chat")]
    assert chats and all(s.context.trace_id == trial.context.trace_id for s in chats)
