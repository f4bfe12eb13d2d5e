"""OpenTelemetry spans of one run, built from its typed events (GenAI semantic conventions).

`RunTracer` is an `on_event` consumer, so the loop knows nothing of tracing:

- `invoke_agent agentloop` spans the run (from the tracer's creation to `RunFinished`);
- `chat {model}` per model request, from `TurnFinished` (its `duration` gives the start);
- `execute_tool {name}` per call, from `ToolCallStarted` to `ToolCallFinished`.

Prompts, replies, arguments and results are recorded only with `capture_content=True`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from agentloop.events import (
    Event,
    RunFinished,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)

AGENT_NAME = "agentloop"
ERROR_STOPS = frozenset({"backend_error", "context_overflow", "invalid_output"})


@dataclass(frozen=True, slots=True)
class TraceSettings:
    """What goes on the spans.

    Attributes:
        provider: `gen_ai.provider.name` (e.g. "llama.cpp", "vllm", "openai").
        model: `gen_ai.request.model`.
        capture_content: Record messages, arguments and results (off by default).
    """

    provider: str = "openai"
    model: str = ""
    capture_content: bool = False


class RunTracer:
    """Turns the events of one run into spans; create one per run, pass it as `on_event`.

    Args:
        tracer: An OpenTelemetry tracer.
        settings: Provider, model and content capture.
        context: The parent context (default: the current one, e.g. an eval trial's span).
    """

    def __init__(
        self, tracer: Tracer, settings: TraceSettings, context: Context | None = None
    ) -> None:
        self.tracer = tracer
        self.settings = settings
        self.run = tracer.start_span(
            f"invoke_agent {AGENT_NAME}",
            context=context,
            kind=SpanKind.INTERNAL,
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": AGENT_NAME,
                **self._common(),
            },
        )
        self._inside = trace.set_span_in_context(self.run, context)
        self._tools: dict[str, Span] = {}

    def _common(self) -> dict[str, str]:
        common = {"gen_ai.provider.name": self.settings.provider}
        if self.settings.model:
            common["gen_ai.request.model"] = self.settings.model
        return common

    def __call__(self, event: Event) -> None:
        """Consume one event (sync: it never waits)."""
        match event:
            case TurnFinished():
                self._chat(event)
            case ToolCallStarted():
                self._tool_started(event)
            case ToolCallFinished():
                self._tool_finished(event)
            case RunFinished():
                self._finished(event)
            case _:
                pass

    def _chat(self, event: TurnFinished) -> None:
        end = time.time_ns()
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            **self._common(),
            "gen_ai.response.finish_reasons": [event.finish_reason],
            "gen_ai.usage.input_tokens": event.usage.prompt_tokens,
            "gen_ai.usage.output_tokens": event.usage.completion_tokens,
            "agentloop.turn": event.turn,
            "agentloop.tool_calls": event.tool_calls,
        }
        if event.time_to_first_token is not None:
            attributes["gen_ai.response.time_to_first_chunk"] = event.time_to_first_token
        if self.settings.capture_content:
            attributes["gen_ai.output.messages"] = _output_message(
                event.content, event.finish_reason
            )
        span = self.tracer.start_span(
            f"chat {self.settings.model}".strip(),
            context=self._inside,
            kind=SpanKind.CLIENT,
            start_time=end - int(event.duration * 1e9),
            attributes=attributes,
        )
        if event.finish_reason == "length":
            span.set_attribute("error.type", "length")
        span.end(end_time=end)

    def _tool_started(self, event: ToolCallStarted) -> None:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": event.name,
            "gen_ai.tool.call.id": event.call_id,
            "gen_ai.tool.type": "function",
            "agentloop.recovered": event.recovered,
        }
        if self.settings.capture_content:
            attributes["gen_ai.tool.call.arguments"] = event.raw_arguments
        self._tools[event.call_id] = self.tracer.start_span(
            f"execute_tool {event.name}",
            context=self._inside,
            kind=SpanKind.INTERNAL,
            attributes=attributes,
        )

    def _tool_finished(self, event: ToolCallFinished) -> None:
        record = event.record
        span = self._tools.pop(record.call_id, None)
        if span is None:  # refused before it started (e.g. a repeated call)
            self._tool_started(
                ToolCallStarted(
                    event.turn,
                    record.call_id,
                    record.name,
                    record.arguments,
                    record.raw_arguments,
                    record.recovered,
                )
            )
            span = self._tools.pop(record.call_id)
        if self.settings.capture_content:
            span.set_attribute("gen_ai.tool.call.result", record.output)
        if record.error is not None:
            span.set_attribute("error.type", record.error)
            span.set_status(Status(StatusCode.ERROR, record.error))
        span.end()

    def _finished(self, event: RunFinished) -> None:
        for span in self._tools.values():
            span.set_attribute("error.type", "unfinished")
            span.end()
        self._tools.clear()
        self.run.set_attributes(
            {
                "gen_ai.usage.input_tokens": event.usage.prompt_tokens,
                "gen_ai.usage.output_tokens": event.usage.completion_tokens,
                "agentloop.stop_reason": event.stop_reason,
                "agentloop.turns": event.turns,
            }
        )
        if self.settings.capture_content:
            self.run.set_attribute("gen_ai.output.messages", _output_message(event.output, "stop"))
        if event.error is not None or event.stop_reason in ERROR_STOPS:
            error_type = type(event.error).__name__ if event.error else event.stop_reason
            self.run.set_attribute("error.type", error_type)
            description = str(event.error) if event.error else event.stop_reason
            self.run.set_status(Status(StatusCode.ERROR, description))
        self.run.end()


def _output_message(text: str, finish_reason: str) -> str:
    message = {
        "role": "assistant",
        "parts": [{"type": "text", "content": text}],
        "finish_reason": finish_reason,
    }
    return json.dumps([message], ensure_ascii=False)
