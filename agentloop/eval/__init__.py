"""`agentloop eval`: run a suite of tool tasks against a model server and report how well
the model + server + settings combination really calls tools.

Task files are JSONL (see docs/eval.md), validated before anything runs (`load_tasks`);
`run_eval` runs K trials per task in fresh workspaces and writes `results.jsonl`,
`transcripts/`, `summary.md` and `report.html`; `compare_runs` sets two runs side by side.
"""

from agentloop.eval.checks import CheckResult, Evidence, resolve_dates, run_check, run_checks
from agentloop.eval.compare import Comparison, compare_runs, load_run, render_comparison
from agentloop.eval.results import RunInfo, TrialResult, read_results
from agentloop.eval.runner import EvalOptions, EvalOutcome, run_eval, write_outputs
from agentloop.eval.summary import Summary, summarize
from agentloop.eval.tasks import CHECK_TYPES, Check, Task, TaskFileError, load_tasks
from agentloop.eval.toolsets import BuiltinTools, FixedTools, ToolProvider, ToolSet

__all__ = [
    "CHECK_TYPES",
    "BuiltinTools",
    "Check",
    "CheckResult",
    "Comparison",
    "EvalOptions",
    "EvalOutcome",
    "Evidence",
    "FixedTools",
    "RunInfo",
    "Summary",
    "Task",
    "TaskFileError",
    "ToolProvider",
    "ToolSet",
    "TrialResult",
    "compare_runs",
    "load_run",
    "load_tasks",
    "read_results",
    "render_comparison",
    "resolve_dates",
    "run_check",
    "run_checks",
    "run_eval",
    "summarize",
    "write_outputs",
]
