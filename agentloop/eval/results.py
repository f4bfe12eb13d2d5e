"""What an eval run writes: one `TrialResult` per line of `results.jsonl`, and `run.json`.

Lines are appended and flushed as trials finish, so an interrupted run keeps everything
that finished and `--resume` can pick up from the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

RESULTS_FILE = "results.jsonl"
RUN_FILE = "run.json"
SUMMARY_FILE = "summary.md"
REPORT_FILE = "report.html"
TRANSCRIPTS_DIR = "transcripts"

EVAL_STOP_REASONS = ("timeout", "error")
"""Stop reasons the runner adds to the loop's own: the per-task timeout fired, or an
unexpected exception ended the trial (a server that fails after the backend's retries is
the loop's own "backend_error")."""


class CallSummary(BaseModel):
    """One tool call of a trial, as kept in `results.jsonl`."""

    model_config = ConfigDict(frozen=True)

    name: str
    arguments: dict[str, Any] | None = None
    error: str | None = None
    recovered: bool = False
    turn: int = 0
    duration: float = 0.0


class CheckOutcome(BaseModel):
    """One check's verdict."""

    model_config = ConfigDict(frozen=True)

    type: str
    passed: bool
    detail: str = ""


class TrialResult(BaseModel):
    """One trial of one task.

    Attributes:
        task_id: The task's id.
        category: The task's category.
        trial: The trial's index (0-based).
        passed: Every check held.
        failure: The first failed check's reason, or why the run ended badly.
        checks: Every check's verdict.
        stop_reason: The loop's stop reason, or one of `EVAL_STOP_REASONS`.
        error: The error message, when the run ended on one.
        answer: The final answer (capped).
        turns: Model replies used.
        tool_calls: Every call made.
        recovered_calls: Calls recovered from text rather than structured `tool_calls`.
        compactions: Times what was sent was compacted to fit the context window.
        prompt_tokens: Prompt tokens over all turns.
        completion_tokens: Completion tokens over all turns.
        latency: Wall-clock seconds of the trial (the run itself, without setup).
        attempts: How many times the trial was started (always 1 now; kept so that older
            results files still load).
        base_url: The server that ran it.
        model: The model id.
        started_at: ISO timestamp of the start.
        today: The date that date placeholders resolved against.
        transcript: The transcript's path, relative to the output directory.
    """

    model_config = ConfigDict(frozen=True)

    task_id: str
    category: str
    trial: int = Field(ge=0)
    passed: bool
    failure: str | None = None
    checks: list[CheckOutcome] = Field(default_factory=list)
    stop_reason: str
    error: str | None = None
    answer: str = ""
    turns: int = 0
    tool_calls: list[CallSummary] = Field(default_factory=list)
    recovered_calls: int = 0
    compactions: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency: float = 0.0
    attempts: int = 1
    base_url: str = ""
    model: str = ""
    started_at: str = ""
    today: str = ""
    transcript: str = ""

    @property
    def key(self) -> tuple[str, int]:
        """(task id, trial index): unique within a run."""
        return (self.task_id, self.trial)

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


class RunInfo(BaseModel):
    """`run.json`: what was run, how, and whether it finished."""

    tasks_file: str
    trials: int
    model: str = ""
    base_urls: list[str] = Field(default_factory=list)
    profile: str | None = None
    system: str | None = None
    concurrency: int = 1
    task_count: int = 0
    started_at: str = ""
    finished_at: str = ""
    interrupted: bool = False


class ResultsWriter:
    """Appends trials to `results.jsonl`, one flushed line each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def write(self, trial: TrialResult) -> None:
        """Append one trial."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(trial.model_dump_json() + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None


def read_results(path: Path) -> list[TrialResult]:
    """Read `results.jsonl`; a torn last line (a crash mid-write) is ignored, and a later line
    for the same (task, trial) replaces an earlier one."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    found: dict[tuple[str, int], TrialResult] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            trial = TrialResult.model_validate_json(line)
        except ValidationError:
            if number == len(lines):
                break
            raise ValueError(f"{path}:{number}: not a trial result") from None
        found[trial.key] = trial
    return list(found.values())


def read_run_info(out_dir: Path) -> RunInfo | None:
    """`run.json` of an output directory, or None when there is none."""
    path = out_dir / RUN_FILE
    if not path.exists():
        return None
    return RunInfo.model_validate(json.loads(path.read_text(encoding="utf-8")))


def write_run_info(out_dir: Path, info: RunInfo) -> None:
    """Write `run.json`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / RUN_FILE).write_text(info.model_dump_json(indent=2) + "\n", encoding="utf-8")
