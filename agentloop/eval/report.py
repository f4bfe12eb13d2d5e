"""`report.html`: one self-contained file — inline CSS, SVG charts and a small script, no
network — with the headline numbers, the charts and a drill-down into every trial."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from agentloop.eval import charts
from agentloop.eval.results import RunInfo, TrialResult
from agentloop.eval.summary import Summary, by_task

MAX_MESSAGE_CHARS = 4000
MAX_MESSAGES = 60


def _asset(name: str) -> str:
    return resources.files("agentloop.eval").joinpath(name).read_text(encoding="utf-8")


def _cap(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… [{len(text) - limit} more characters in the transcript file]"


def _capped_message(message: dict[str, Any]) -> dict[str, Any]:
    out = dict(message)
    for key in ("content", "reasoning_content", "reasoning"):
        if isinstance(out.get(key), str):
            out[key] = _cap(out[key])
    return out


def load_transcripts(out_dir: Path, trials: Sequence[TrialResult]) -> dict[str, Any]:
    """Messages of each trial, keyed "task/trial", capped for embedding in the report."""
    found: dict[str, Any] = {}
    for trial in trials:
        path = out_dir / trial.transcript if trial.transcript else None
        if path is None or not path.is_file():
            continue
        try:
            messages = json.loads(path.read_text(encoding="utf-8")).get("messages", [])
        except (OSError, ValueError):
            continue
        found[f"{trial.task_id}/{trial.trial}"] = {
            "messages": [_capped_message(m) for m in messages[:MAX_MESSAGES]],
            "omitted": max(0, len(messages) - MAX_MESSAGES),
            "file": trial.transcript,
        }
    return found


def _num(seconds: float) -> str:
    return f"{seconds:.2f}" if seconds < 10 else f"{seconds:.0f}"


def _cards(summary: Summary) -> str:
    s = summary
    cards = [
        ("pass@1", f"{s.overall.pass_at_1:.1%}"),
        (f"pass^{s.k}", f"{s.overall.pass_hat_k:.1%}"),
        ("tasks / trials", f"{s.overall.tasks} / {s.overall.trials}"),
        ("latency p50", f"{_num(s.latency_p50)} s"),
        ("latency p95", f"{_num(s.latency_p95)} s"),
        ("turns / trial", f"{s.mean_turns:.2f}"),
        ("tokens", f"{s.prompt_tokens + s.completion_tokens:,}"),
        ("recovered", f"{s.recovered_rate:.0%} of {s.tool_calls}"),
    ]
    return "".join(
        f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{escape(v)}</div></div>'
        for k, v in cards
    )


def _stop_table(summary: Summary) -> str:
    rows = "".join(
        f'<tr><td>{escape(reason)}</td><td class="n">{n}</td></tr>'
        for reason, n in summary.stop_reasons.items()
    )
    failed = (
        "".join(
            f'<tr><td>{escape(kind)}</td><td class="n">{n}</td></tr>'
            for kind, n in summary.failed_calls.items()
        )
        or '<tr><td colspan="2">none</td></tr>'
    )
    return (
        '<table><tr><th>stop reason</th><th class="n">trials</th></tr>' + rows + "</table>"
        '<h2 style="margin-top:14px">Failed tool calls</h2>'
        '<table><tr><th>error</th><th class="n">calls</th></tr>' + failed + "</table>"
    )


def _trial_html(trial: TrialResult) -> str:
    verdict = (
        '<span class="ok">passed</span>' if trial.passed else '<span class="bad">failed</span>'
    )
    checks = "".join(
        f'<li class="{"ok" if c.passed else "bad"}">{escape(c.type)} — {escape(c.detail)}</li>'
        for c in trial.checks
    )
    error = f'<p class="error">{escape(trial.error)}</p>' if trial.error else ""
    calls = len(trial.tool_calls)
    recovered = f" ({trial.recovered_calls} recovered)" if trial.recovered_calls else ""
    return (
        f'<div class="trial"><h3>Trial {trial.trial + 1}: {verdict} · {escape(trial.stop_reason)}'
        f" · {trial.turns} turn(s) · {calls} call(s){recovered} · {trial.latency:.2f} s · "
        f'{trial.total_tokens:,} tokens</h3>{error}<ul class="checks">{checks}</ul>'
        f'<div class="transcript" data-key="{escape(trial.task_id)}/{trial.trial}"></div></div>'
    )


def _task_html(task_id: str, group: list[TrialResult]) -> str:
    passed = sum(1 for t in group if t.passed)
    status = "pass" if passed == len(group) else ("fail" if passed == 0 else "partial")
    first_bad = next((t for t in group if not t.passed), None)
    why = escape(first_bad.failure or first_bad.stop_reason) if first_bad else ""
    turns = sum(t.turns for t in group) / len(group)
    latency = sum(t.latency for t in group) / len(group)
    category = group[0].category
    search = escape(f"{task_id} {category} {why}".lower())
    return (
        f'<details class="task" id="task-{escape(task_id)}" data-status="{status}" '
        f'data-category="{escape(category)}" data-search="{search}"><summary>'
        f'<span class="badge {status}">{passed}/{len(group)}</span>'
        f'<span class="tid">{escape(task_id)}</span><span class="cat">{escape(category)}</span>'
        f'<span class="why">{why}</span><span class="meta">{turns:.1f} turns · {latency:.1f} s'
        f"</span></summary>{''.join(_trial_html(t) for t in group)}</details>"
    )


def _script_json(value: Any) -> str:
    # "<" escaped so no message can close the script element.
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def _charts(summary: Summary, trials: Sequence[TrialResult]) -> str:
    groups = [summary.overall, *summary.categories]
    bars = [
        charts.TaskBar(task, sum(t.turns for t in g) / len(g), sum(t.passed for t in g) / len(g))
        for task, g in sorted(by_task(trials).items())
    ]
    latencies = [t.latency for t in trials]
    return (
        f'<div class="grid"><section class="panel"><h2>Pass rate by category</h2>'
        f"{charts.category_bars(groups, summary.k)}</section>"
        f'<section class="panel"><h2>Latency distribution</h2>'
        f"{charts.latency_histogram(latencies, summary.latency_p50, summary.latency_p95)}"
        f'</section><section class="panel"><h2>Turns per task</h2>'
        f"{charts.turns_per_task(bars)}</section>"
        f'<section class="panel"><h2>Stop reasons</h2>{_stop_table(summary)}</section></div>'
    )


def render_report(
    summary: Summary,
    trials: Sequence[TrialResult],
    info: RunInfo,
    transcripts: dict[str, Any],
) -> str:
    """The whole `report.html` as a string."""
    tasks = by_task(trials)
    options = "".join(f"<option>{escape(g.name)}</option>" for g in summary.categories)
    warn = (
        '<p class="warn">This run was interrupted: the report shows the trials that finished.</p>'
        if info.interrupted
        else ""
    )
    servers = ", ".join(info.base_urls) or "-"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>agentloop eval · {escape(info.tasks_file)}</title>
<style>{_asset("report.css")}</style></head>
<body><main>
<header><h1>agentloop eval · {escape(info.tasks_file)}</h1>
<p>Model <b>{escape(info.model or "-")}</b> on {escape(servers)} · {info.trials} trial(s) per task ·
concurrency {info.concurrency} · started {escape(info.started_at)}</p>{warn}</header>
<div class="cards">{_cards(summary)}</div>
{_charts(summary, trials)}
<section class="panel wide"><h2>Tasks</h2>
<div class="filters">
<input type="search" id="search" placeholder="Filter by id, category or failure">
<select id="status"><option value="">all results</option>
<option value="failing">not all passed</option>
<option value="fail">all failed</option><option value="partial">some passed</option>
<option value="pass">all passed</option></select>
<select id="category"><option value="">all categories</option>{options}</select>
<span id="shown"></span></div>
<noscript><p>Transcripts need JavaScript; they are also in the transcripts/ folder.</p></noscript>
{"".join(_task_html(task, tasks[task]) for task in sorted(tasks))}
</section>
<footer>Written by agentloop eval. Each trial's full transcript is in the run's transcripts/ folder.
</footer></main>
<script type="application/json" id="transcripts">{_script_json(transcripts)}</script>
<script>{_asset("report.js")}</script>
</body></html>
"""
