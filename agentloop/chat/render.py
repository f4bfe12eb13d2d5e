"""Drawing a run's events on the terminal with rich.

The answer streams as plain text (no re-rendering, so it stays readable when piped or
captured); reasoning is dimmed or folded to one line; each tool call shows its name,
arguments and a truncated result; a dim footer sums up each turn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from rich.text import Text

from agentloop.events import (
    BackendRetry,
    ContextCompacted,
    Event,
    ReasoningDelta,
    RunFinished,
    RunWarning,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)
from sandbox import sanitize_text

if TYPE_CHECKING:
    from rich.console import Console

    from agentloop.chat.status import StatusLine
    from agentloop.result import RunResult

_ARG_CHARS = 160
_RESULT_CHARS = 400
_RESULT_LINES = 6

# How a failed call reads: "✗ calculate failed: ..." (the model gets the same text and
# goes on, so the line says what went wrong in words, not as an error code).
_FAILED: dict[str, str] = {
    "bad_json": "was called with arguments that are not JSON",
    "invalid_arguments": "was called with invalid arguments",
    "unknown_tool": "is not a tool here",
    "tool_failed": "failed",
    "timeout": "timed out",
    "refused": "refused",
    "denied": "denied",
    "cancelled": "cancelled",
    "truncated_call": "was cut off by the token limit",
}

# What the user can do after a run that ended without an answer.
NEXT_STEPS: dict[str, str] = {
    "max_turns": "the model used every reply it was allowed: /retry, ask in smaller steps, "
    "or restart with a higher --max-turns",
    "repeated_calls": "the model kept making the same call: rephrase the question, or /retry",
    "runaway_reply": "the reply kept repeating itself and was cut off: /retry, rephrase, "
    "or /set temperature higher",
}


def short_arguments(arguments: dict[str, Any] | None, raw: str, limit: int = _ARG_CHARS) -> str:
    """`a=2, b="x"` for a call's arguments, cut to `limit` characters."""
    if arguments is None:
        text = raw
    else:
        text = ", ".join(
            f"{key}={json.dumps(value, ensure_ascii=False)}" for key, value in arguments.items()
        )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_result(text: str, lines: int = _RESULT_LINES, chars: int = _RESULT_CHARS) -> str:
    """The head of a tool result, with a note of how much was left out."""
    head = "\n".join(text.splitlines()[:lines])
    head = head[:chars]
    hidden = len(text) - len(head)
    if hidden > 0:
        head = head.rstrip() + f" … ({hidden} more chars)"
    return head


@dataclass(frozen=True, slots=True)
class TurnStats:
    """Figures for the footer of one question."""

    prompt_tokens: int
    completion_tokens: int
    tokens_per_second: float | None
    duration: float
    context_used: int | None
    context_size: int | None

    def line(self) -> str:
        """`152 in · 23 out · 18.2 tok/s · 1.3 s · context 175/4,096 (4%)`."""
        parts = [f"{self.prompt_tokens:,} in", f"{self.completion_tokens:,} out"]
        if self.tokens_per_second is not None:
            parts.append(f"{self.tokens_per_second:.1f} tok/s")
        parts.append(f"{self.duration:.1f} s")
        if self.context_used is not None:
            if self.context_size:
                share = 100 * self.context_used / self.context_size
                parts.append(f"context {self.context_used:,}/{self.context_size:,} ({share:.0f}%)")
            else:
                parts.append(f"context {self.context_used:,}")
        return " · ".join(parts)


def turn_stats(result: RunResult, context_size: int | None) -> TurnStats:
    """Footer figures from a run's events: generation speed excludes time to first token."""
    generated = 0
    gen_time = 0.0
    context_used: int | None = None
    for event in result.events:
        if isinstance(event, TurnFinished):
            generated += event.usage.completion_tokens
            gen_time += event.duration - (event.time_to_first_token or 0.0)
            if event.usage.total_tokens:
                context_used = event.usage.total_tokens
    speed = generated / gen_time if generated and gen_time > 0 else None
    return TurnStats(
        prompt_tokens=result.usage.prompt_tokens,
        completion_tokens=result.usage.completion_tokens,
        tokens_per_second=speed,
        duration=result.duration,
        context_used=context_used,
        context_size=context_size,
    )


class Renderer:
    """Prints events as they arrive. One renderer serves a whole chat session.

    Args:
        console: Where the answer goes.
        notes: Where everything else goes (reasoning, tool calls, footers, errors); the
            same console on a terminal, stderr when the answers are piped to a script.
        show_reasoning: Stream reasoning dimmed (True) or fold it to one line (False).
        status: The live status line (None: no status, e.g. when piped).
    """

    def __init__(
        self,
        console: Console,
        notes: Console | None = None,
        *,
        show_reasoning: bool = True,
        status: StatusLine | None = None,
    ) -> None:
        self.console = console
        self.notes = notes or console
        self.show_reasoning = show_reasoning
        self.status = status
        self._open: Literal["none", "text", "reasoning"] = "none"
        self._reasoning_chars = 0
        self._ends_with_newline = True
        self._open_calls: dict[str, str] = {}
        self._last_call_line: str | None = None

    def on_event(self, event: Event) -> None:
        """Draw one event (the `on_event` callback of a run)."""
        self._draw(event)
        if self.status is not None:
            self._update_status(event)

    def _update_status(self, event: Event) -> None:
        assert self.status is not None
        kind = getattr(event, "kind", "")
        if isinstance(event, TextDelta):
            self.status.set(None)
        elif isinstance(event, ReasoningDelta):
            if self.show_reasoning:
                self.status.set(None)
            else:
                self.status.set("thinking", f" ({self._reasoning_chars:,} chars)")
        elif isinstance(event, ToolCallStarted):
            self.status.set(f"running {event.name}")
        elif isinstance(event, ToolCallFinished | TurnFinished):
            self.status.set("waiting for the model")
        elif isinstance(event, BackendRetry):
            self.status.set("waiting for the model", f" (retry {event.attempt})")
        elif isinstance(event, RunFinished):
            self.status.set(None)
        elif kind == "prompt_progress":  # llama-server's return_progress, when the loop has it
            done, total = getattr(event, "processed", 0), getattr(event, "total", 0)
            share = f" {100 * done / total:.0f}% of {total:,} tokens" if total else ""
            self.status.set("processing the prompt", share)

    def _draw(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            self._stream("text", event.text)
        elif isinstance(event, ReasoningDelta):
            self._stream("reasoning", event.text)
        elif isinstance(event, ToolCallStarted):
            self._tool_started(event)
        elif isinstance(event, ToolCallFinished):
            self._tool_finished(event)
        elif isinstance(event, BackendRetry) and event.wait > 0:
            # An immediate retry is a stale keep-alive connection, nothing the user can act
            # on: only the status line mentions it.
            self.close_stream()
            self.note(f"server error, retrying in {event.wait:.1f} s: {event.error}", "yellow")
        elif isinstance(event, RunFinished):
            self.close_stream()
            for name in self._open_calls.values():
                self.notes.print(Text(f"  ✗ {event.stop_reason}: {name} did not finish", "red"))
            self._open_calls.clear()
        elif isinstance(event, TurnFinished):
            self.close_stream()
        elif isinstance(event, ContextCompacted):
            self.note(f"  {event.compaction.describe()}")
        elif isinstance(event, RunWarning):
            self.note(f"  {sanitize_text(event.message)}", "yellow")

    def _stream(self, kind: Literal["text", "reasoning"], text: str) -> None:
        if not text:
            return
        text = sanitize_text(text)  # model-written: no escape sequence reaches the terminal
        if self._open != kind:
            self.close_stream()
            self._open = kind
            if kind == "reasoning":
                self._reasoning_chars = 0
        if kind == "reasoning":
            self._reasoning_chars += len(text)
            if not self.show_reasoning:
                return
        if kind == "reasoning":
            self.notes.out(text, end="", style="dim italic", highlight=False)
        else:
            self.console.out(text, end="", highlight=False)
        self._ends_with_newline = text.endswith("\n")

    def close_stream(self) -> None:
        """End the text being streamed: a newline, or the folded-reasoning line."""
        if self._open == "reasoning" and not self.show_reasoning:
            self.notes.print(
                Text(f"▸ thinking ({self._reasoning_chars:,} chars, /think on to show)", "dim")
            )
        elif self._open != "none" and not self._ends_with_newline:
            target = self.notes if self._open == "reasoning" else self.console
            target.out("", highlight=False)
        self._open = "none"
        self._ends_with_newline = True

    def _tool_started(self, event: ToolCallStarted) -> None:
        self.close_stream()
        self._open_calls[event.call_id] = event.name
        self._last_call_line = event.call_id
        line = Text("⚙ ", "cyan")
        line.append(sanitize_text(event.name), "bold cyan")
        shown = short_arguments(event.arguments, event.raw_arguments)
        line.append(f"({sanitize_text(shown)})")
        if event.recovered:
            line.append("  [recovered from text]", "yellow")
        self.notes.print(line, soft_wrap=True)

    def _tool_finished(self, event: ToolCallFinished) -> None:
        record = event.record
        self._open_calls.pop(record.call_id, None)
        body = sanitize_text(short_result(record.output))
        name = sanitize_text(record.name)
        # Several calls in one reply print all their ⚙ lines first: a result that does not
        # follow its own call names the tool.
        adjacent = self._last_call_line == record.call_id
        self._last_call_line = None
        if record.error is None:
            line = Text("  → ", "green")
            line.append(body if adjacent else f"{name}: {body}")
        else:
            what = _FAILED.get(record.error, record.error)
            line = Text(f"  ✗ {name} {what}: ", "red")
            line.append(body)
        line.append(f"  ({record.duration:.2f} s)", "dim")
        self.notes.print(line, soft_wrap=True)

    def footer(self, result: RunResult, context_size: int | None) -> None:
        """The dim summary line after a question's answer."""
        self.close_stream()
        stats = turn_stats(result, context_size)
        suffix = "" if result.stop_reason == "completed" else f" · stopped: {result.stop_reason}"
        self.notes.print(Text(f"─ {stats.line()}{suffix}", "dim"), soft_wrap=True)
        advice = NEXT_STEPS.get(result.stop_reason)
        if advice and result.stop_reason != "completed":
            self.notes.print(Text(f"  {advice}", "yellow"), soft_wrap=True)

    def note(self, text: str, style: str = "dim") -> None:
        """A one-line message from the chat itself."""
        self.close_stream()
        self.notes.print(Text(text, style), soft_wrap=True)

    def error(self, text: str) -> None:
        """A one-line error."""
        self.note(f"error: {text}", "bold red")
