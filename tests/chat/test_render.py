"""What the renderer prints for a failed call and for a run that stopped early."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from agentloop.chat.render import Renderer
from agentloop.events import BackendRetry, ToolCallFinished, ToolCallStarted
from agentloop.result import RunResult, ToolCallRecord


def _renderer() -> tuple[Renderer, io.StringIO]:
    out = io.StringIO()
    return Renderer(Console(file=out, width=200, color_system=None)), out


def _record(call_id: str, name: str, output: str, error: str | None = None) -> ToolCallRecord:
    return ToolCallRecord(
        call_id=call_id,
        name=name,
        arguments={},
        raw_arguments="{}",
        output=output,
        error=error,  # type: ignore[arg-type]
        recovered=False,
        turn=1,
        duration=0.0,
    )


def _started(call_id: str, name: str) -> ToolCallStarted:
    return ToolCallStarted(1, call_id, name, {}, "{}", recovered=False)


def test_a_failed_call_names_the_tool_and_says_what_went_wrong() -> None:
    renderer, out = _renderer()
    record = _record("c1", "calculate", "Error: Only numbers are allowed", "tool_failed")
    renderer.on_event(ToolCallFinished(turn=1, record=record))
    assert out.getvalue().startswith("  ✗ calculate failed: Error: Only numbers are allowed")


def test_results_of_parallel_calls_name_their_tool() -> None:
    renderer, out = _renderer()
    renderer.on_event(_started("c1", "add_number"))
    renderer.on_event(_started("c2", "current_date"))
    renderer.on_event(ToolCallFinished(1, _record("c1", "add_number", "10")))
    renderer.on_event(ToolCallFinished(1, _record("c2", "current_date", "2026-12-01")))
    renderer.on_event(_started("c3", "python"))
    renderer.on_event(ToolCallFinished(1, _record("c3", "python", "ok")))
    lines = [line.split("  (")[0] for line in out.getvalue().splitlines()]
    assert lines == [
        "⚙ add_number()",
        "⚙ current_date()",
        "  → add_number: 10",
        "  → current_date: 2026-12-01",
        "⚙ python()",
        "  → ok",
    ]


@pytest.mark.parametrize(
    ("reason", "advice"),
    [
        ("max_turns", "restart with a higher --max-turns"),
        ("repeated_calls", "rephrase the question, or /retry"),
    ],
)
def test_a_stopped_run_says_what_to_do_next(reason: str, advice: str) -> None:
    renderer, out = _renderer()
    result = RunResult(output="", stop_reason=reason, messages=[])  # type: ignore[arg-type]
    renderer.footer(result, context_size=None)
    footer, hint = out.getvalue().splitlines()
    assert footer.endswith(f"stopped: {reason}")
    assert advice in hint


def test_a_completed_run_has_no_advice() -> None:
    renderer, out = _renderer()
    renderer.footer(RunResult(output="4", stop_reason="completed", messages=[]), None)
    assert len(out.getvalue().splitlines()) == 1


def test_an_immediate_retry_is_not_printed_but_a_waiting_one_is() -> None:
    renderer, out = _renderer()
    stale = "RemoteProtocolError: Server disconnected without sending a response"
    renderer.on_event(BackendRetry(turn=1, attempt=1, wait=0.0, error=stale))
    assert out.getvalue() == ""
    renderer.on_event(BackendRetry(turn=1, attempt=2, wait=1.5, error="HTTP 503"))
    assert out.getvalue() == "server error, retrying in 1.5 s: HTTP 503\n"


def test_model_written_escape_sequences_are_shown_not_executed() -> None:
    from agentloop.events import TextDelta

    renderer, out = _renderer()
    hostile = "\x1b]52;c;cGF5bG9hZA==\x07\x1b[2Jdone\u202egnp.exe"
    renderer.on_event(ToolCallStarted(1, "c1", "ev\x1bil", {"code": hostile}, "{}", False))
    renderer.on_event(ToolCallFinished(1, _record("c1", "ev\x1bil", hostile)))
    renderer.on_event(TextDelta(1, hostile))
    renderer.close_stream()
    printed = out.getvalue()
    assert "\x1b" not in printed and "\u202e" not in printed and "\x07" not in printed
    assert "\\x1b" in printed and "\\u202e" in printed, "shown, not dropped"
    assert "done" in printed and "gnp.exe" in printed, "text after the sequence is kept"


def test_tool_errors_echo_model_written_names_sanitised() -> None:
    import asyncio

    from tools import ToolContext, ToolRegistry

    outcome = asyncio.run(ToolRegistry().call("x\x1b[31m\u202ey", "{}", context=ToolContext()))
    assert outcome.error == "unknown_tool"
    assert "\x1b" not in outcome.content and "\u202e" not in outcome.content
