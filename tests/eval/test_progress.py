"""The progress bar shows trials done and the live pass rate."""

from __future__ import annotations

import io

from rich.console import Console

from agentloop.eval.progress import EvalProgress
from agentloop.eval.results import TrialResult


def test_progress_shows_the_live_pass_rate() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=140, color_system=None)
    with EvalProgress(console) as progress:
        progress.start(total=4, done=0)
        for task, passed in (("a", True), ("b", False), ("c", True)):
            progress.advance(
                TrialResult(
                    task_id=task, category="x", trial=0, passed=passed, stop_reason="completed"
                )
            )
    text = buffer.getvalue()
    assert "3/4" in text
    assert "pass 67% (2/3)" in text
    assert "✓ c" in text
