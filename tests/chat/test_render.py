"""What the renderer prints for a failed call and for a run that stopped early."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from agentloop.chat.render import Renderer
from agentloop.events import ToolCallFinished
from agentloop.result import RunResult, ToolCallRecord


def _renderer() -> tuple[Renderer, io.StringIO]:
    out = io.StringIO()
    return Renderer(Console(file=out, width=200, color_system=None)), out


def test_a_failed_call_names_the_tool_and_says_what_went_wrong() -> None:
    renderer, out = _renderer()
    record = ToolCallRecord(
        call_id="c1",
        name="calculate",
        arguments={"expression": "current_date() + 10"},
        raw_arguments="{}",
        output="Error: Only numbers are allowed",
        error="tool_failed",
        recovered=False,
        turn=1,
        duration=0.0,
    )
    renderer.on_event(ToolCallFinished(turn=1, record=record))
    assert out.getvalue().startswith("  ✗ calculate failed: Error: Only numbers are allowed")


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
