"""A tracer provider built from a `TelemetryConfig` (never the global one), and eval trials
as spans."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from agentloop.telemetry.config import TelemetryConfig
from agentloop.telemetry.spans import RunTracer, TraceSettings

if TYPE_CHECKING:
    from agentloop.eval.results import TrialResult
    from agentloop.eval.tasks import Task

TRACER_NAME = "agentloop"
TRIAL_ERRORS = frozenset({"error", "transport_error", "timeout", "backend_error"})


class Tracing:
    """An SDK tracer provider with one exporter; `shutdown()` flushes what is pending.

    Args:
        config: Where spans go.
        exporter: Use this exporter instead of the configured one (tests).
    """

    def __init__(self, config: TelemetryConfig, exporter: SpanExporter | None = None) -> None:
        self.config = config
        resource = Resource({**config.resource, "service.name": config.service_name})
        self.provider = TracerProvider(resource=resource)
        if exporter is not None:
            self.provider.add_span_processor(SimpleSpanProcessor(exporter))
        elif config.exporter == "console":
            self.provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            otlp = OTLPSpanExporter(endpoint=config.endpoint, headers=config.headers)
            self.provider.add_span_processor(BatchSpanProcessor(otlp))
        self.tracer: Tracer = self.provider.get_tracer(TRACER_NAME)

    def shutdown(self) -> None:
        """Export what is pending and stop."""
        self.provider.force_flush()
        self.provider.shutdown()


class TrialTracer:
    """Eval trials as spans: `eval_trial {task}` around each trial, current while it runs
    (so spans made inside nest under it), with task id, trial, pass/fail and stop reason.

    Args:
        tracing: Where the spans go (`close()` flushes and shuts it down).
        run_id: Groups the trials of one eval run (`agentloop.eval.run`).
    """

    def __init__(self, tracing: Tracing, run_id: str) -> None:
        self.tracing = tracing
        self.tracer = tracing.tracer
        self.run_id = run_id

    def close(self) -> None:
        """Export the pending spans and stop."""
        self.tracing.shutdown()

    def run_events(self, model: str) -> RunTracer:
        """The spans of the run inside a trial (`invoke_agent`, `chat`, `execute_tool`),
        nested under the trial's span, which is current while the run executes."""
        capture = self.tracing.config.capture_content
        return RunTracer(self.tracer, TraceSettings(model=model, capture_content=capture))

    @contextmanager
    def trial(self, task: Task, trial: int) -> Iterator[Callable[[TrialResult], None]]:
        """A span around one trial; call the yielded function with the trial's result."""
        attributes: dict[str, Any] = {
            "agentloop.eval.run": self.run_id,
            "agentloop.eval.task_id": task.id,
            "agentloop.eval.category": task.category,
            "agentloop.eval.trial": trial,
        }
        name = f"eval_trial {task.id}"
        with self.tracer.start_as_current_span(
            name, kind=SpanKind.INTERNAL, attributes=attributes, record_exception=False
        ) as span:
            yield lambda result: _record(span, result)


def _record(span: trace.Span, result: TrialResult) -> None:
    span.set_attributes(
        {
            "agentloop.eval.passed": result.passed,
            "agentloop.stop_reason": result.stop_reason,
            "agentloop.turns": result.turns,
            "agentloop.tool_calls": len(result.tool_calls),
            "agentloop.recovered_calls": result.recovered_calls,
            "gen_ai.request.model": result.model,
            "gen_ai.usage.input_tokens": result.prompt_tokens,
            "gen_ai.usage.output_tokens": result.completion_tokens,
        }
    )
    if result.failure:
        span.set_attribute("agentloop.eval.failure", result.failure[:500])
    if result.stop_reason in TRIAL_ERRORS:
        span.set_attribute("error.type", result.stop_reason)
        span.set_status(Status(StatusCode.ERROR, result.error or result.stop_reason))
