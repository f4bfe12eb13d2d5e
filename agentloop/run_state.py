"""The mutable state of one run, and how it becomes a `RunResult`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from agentloop.calls import tool_message
from agentloop.errors import AgentloopError
from agentloop.events import (
    BackendRetry,
    Event,
    EventHandler,
    PromptProgress,
    ReasoningDelta,
    TextDelta,
)
from agentloop.repeats import RepeatGuard
from agentloop.result import RunResult, StopReason, ToolCallRecord, Usage
from agentloop.transcript import Transcript
from agentloop.turn import AnswerNudges
from tools import ToolContext


@dataclass(slots=True)
class RunState:
    """Everything a run accumulates; owned by one `Agent.run` call."""

    messages: list[dict[str, Any]]
    context: ToolContext
    guard: RepeatGuard
    nudges: AnswerNudges = field(default_factory=AnswerNudges)
    on_event: EventHandler | None = None
    transcript: Transcript | None = None
    model: str = ""
    turn: int = 0
    usage: Usage = field(default_factory=Usage)
    reasoning: str = ""
    records: list[ToolCallRecord] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    async def emit(self, event: Event) -> None:
        """Keep the event and hand it to the caller's handler (sync or async)."""
        self.events.append(event)
        if self.on_event is not None:
            result = self.on_event(event)
            if result is not None:
                await result

    async def on_delta(self, kind: str, text: str) -> None:
        """Backend callback for streamed text."""
        if kind == "reasoning":
            await self.emit(ReasoningDelta(self.turn, text))
        else:
            await self.emit(TextDelta(self.turn, text))

    async def on_progress(self, processed: int, total: int, cache: int) -> None:
        """Backend callback while the server reads the prompt."""
        await self.emit(PromptProgress(self.turn, processed, total, cache))

    async def on_retry(self, attempt: int, wait: float, error: str) -> None:
        """Backend callback before a retry."""
        await self.emit(BackendRetry(self.turn, attempt, wait, error))

    def add_records(self, records: list[ToolCallRecord]) -> None:
        """Keep the records and append one tool message per call, in call order.

        A call the run already made gets a note, which is often enough to make a small
        model stop repeating itself and answer.
        """
        for record in records:
            message = tool_message(record)
            message["content"] += self.guard.note(record.name, record.raw_arguments, record.ok)
            self.records.append(record)
            self.messages.append(message)

    def close_open_calls(self, output: str) -> None:
        """Answer calls left without a result, so the conversation stays valid."""
        answered = {m.get("tool_call_id") for m in self.messages if m.get("role") == "tool"}
        for message in reversed(self.messages):
            if message.get("role") != "assistant":
                continue
            for call in message.get("tool_calls") or []:
                if call["id"] not in answered:
                    self.messages.append(
                        {"role": "tool", "tool_call_id": call["id"], "content": output}
                    )
            break

    def result(
        self,
        reason: StopReason,
        output: str,
        error: AgentloopError | None,
        duration: float,
        final_output: Any = None,
    ) -> RunResult:
        """The finished run."""
        return RunResult(
            output=output,
            stop_reason=reason,
            messages=list(self.messages),
            tool_calls=list(self.records),
            usage=self.usage,
            events=list(self.events),
            turns=self.turn,
            model=self.model,
            duration=duration,
            error=error,
            reasoning=self.reasoning,
            final_output=final_output,
        )
