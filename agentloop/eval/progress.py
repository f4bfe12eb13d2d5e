"""A rich progress bar for an eval run, with the live pass rate."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from agentloop.eval.results import TrialResult


class EvalProgress:
    """Shows trials done, the pass rate so far and the time left.

    Use as a context manager; call `start(total, done)` once the run knows its size and
    `advance(trial)` after each trial.
    """

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("[bold]eval[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("pass {task.fields[rate]}"),
            TextColumn("[dim]{task.fields[last]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self._task = self._progress.add_task("eval", total=None, rate="-", last="", start=False)
        self._passed = 0
        self._finished = 0

    def __enter__(self) -> EvalProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def start(self, total: int, done: int) -> None:
        """The run has `total` trials to go, after `done` from an earlier run."""
        self._progress.update(self._task, total=total)
        self._progress.start_task(self._task)

    def advance(self, trial: TrialResult) -> None:
        """One more trial finished."""
        self._finished += 1
        self._passed += trial.passed
        rate = f"{self._passed / self._finished:.0%} ({self._passed}/{self._finished})"
        mark = "✓" if trial.passed else "✗"
        self._progress.update(self._task, advance=1, rate=rate, last=f"{mark} {trial.task_id}")
