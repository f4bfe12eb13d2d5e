"""Inline SVG charts for the HTML report: drawn here, so the report needs no script or
network to show them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from agentloop.eval.summary import GroupStats

PASS = "#2f9e5f"
FAIL = "#d9534f"
PARTIAL = "#e3a21a"
ACCENT = "#3b6fd8"
MUTED = "#8a94a6"
GRID = "#e3e7ee"


@dataclass(frozen=True, slots=True)
class TaskBar:
    """One task in the turns chart."""

    task_id: str
    mean_turns: float
    pass_rate: float


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg" '
        f'preserveAspectRatio="xMinYMin meet">{"".join(body)}</svg>'
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{klass}>{escape(text)}</text>'


def rate_color(rate: float) -> str:
    """Green for all passed, red for none, amber between."""
    if rate >= 1.0:
        return PASS
    return FAIL if rate <= 0.0 else PARTIAL


def category_bars(groups: Sequence[GroupStats], k: int) -> str:
    """Pass@1 (thick bar) and pass^k (thin bar) per category, with the overall row first."""
    label_w, track_w, row_h, top = 130, 420, 34, 44
    width, height = label_w + track_w + 50, top + row_h * len(groups) + 4
    body = [
        f'<rect x="{label_w}" y="4" width="12" height="12" rx="2" fill="{ACCENT}"/>',
        _text(label_w + 18, 14, "pass@1", cls="axis"),
        f'<rect x="{label_w + 80}" y="8" width="12" height="4" fill="{MUTED}"/>',
        _text(label_w + 98, 14, f"pass^{k} (all {k} trials pass)", cls="axis"),
        _text(label_w, top - 6, "0%", cls="axis"),
        _text(label_w + track_w / 2, top - 6, "50%", anchor="middle", cls="axis"),
        _text(label_w + track_w, top - 6, "100%", anchor="end", cls="axis"),
    ]
    for i, group in enumerate(groups):
        y = top + i * row_h
        p1, pk = group.pass_at_1, group.pass_hat_k
        body += [
            _text(label_w - 10, y + 15, group.name, anchor="end", cls="label"),
            f'<rect x="{label_w}" y="{y + 3}" width="{track_w}" height="16" rx="3" fill="{GRID}"/>',
            f'<rect x="{label_w}" y="{y + 3}" width="{track_w * p1:.1f}" height="16" rx="3" '
            f'fill="{ACCENT}"><title>{escape(group.name)}: pass@1 {p1:.1%} '
            f"({group.passed_trials}/{group.trials} trials)</title></rect>",
            f'<rect x="{label_w}" y="{y + 22}" width="{track_w * pk:.1f}" height="4" '
            f'fill="{MUTED}"><title>pass^{k} {pk:.1%}</title></rect>',
            _text(label_w + track_w + 8, y + 16, f"{p1:.0%}", cls="value"),
        ]
    return _svg(width, height, body, "pass rate by category")


def _bins(values: Sequence[float], count: int) -> tuple[float, list[int]]:
    top = max(values, default=0.0)
    step = top / count if top > 0 else 1.0
    # A round bin width keeps the axis readable.
    magnitude = 10 ** math.floor(math.log10(step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= step)
    bins = [0] * (int(top // step) + 1)
    for value in values:
        bins[min(int(value // step), len(bins) - 1)] += 1
    return step, bins


def latency_histogram(latencies: Sequence[float], p50: float, p95: float) -> str:
    """Histogram of trial latencies, with the p50 and p95 marked above the plot."""
    left, top, plot_w, plot_h = 44, 34, 560, 160
    width, height = left + plot_w + 20, top + plot_h + 44
    step, bins = _bins(latencies, 24)
    peak = max(bins, default=0) or 1
    bar_w = plot_w / len(bins)
    base = top + plot_h
    body = [f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="{MUTED}"/>']
    for tick in sorted({0, peak // 2, peak}):
        y = base - plot_h * tick / peak
        body += [
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{GRID}"/>',
            _text(left - 6, y + 4, str(tick), anchor="end", cls="axis"),
        ]
    for i, n in enumerate(bins):
        h = plot_h * n / peak
        body.append(
            f'<rect x="{left + i * bar_w + 1:.1f}" y="{base - h:.1f}" '
            f'width="{max(bar_w - 2, 1):.1f}" height="{h:.1f}" fill="{ACCENT}">'
            f"<title>{i * step:g} to {(i + 1) * step:g} s: {n} trial(s)</title></rect>"
        )
    span = step * len(bins)
    for row, (value, name) in enumerate(((p50, "p50"), (p95, "p95"))):
        x = left + plot_w * value / span
        anchor = "end" if x > left + plot_w * 0.75 else "start"
        label_x = x - 4 if anchor == "end" else x + 4
        body += [
            f'<line x1="{x:.1f}" y1="{4 + row * 14}" x2="{x:.1f}" y2="{base}" stroke="{FAIL}" '
            f'stroke-dasharray="4 3"/>',
            _text(label_x, 12 + row * 14, f"{name} {_seconds(value)}", anchor=anchor, cls="marker"),
        ]
    for i in range(0, len(bins) + 1, max(1, len(bins) // 6)):
        x = left + i * bar_w
        body.append(_text(x, base + 16, f"{i * step:g}", anchor="middle", cls="axis"))
    body.append(_text(left + plot_w, base + 34, "seconds per trial", anchor="end", cls="axis"))
    return _svg(width, height, body, "latency distribution")


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def turns_per_task(bars: Sequence[TaskBar]) -> str:
    """Mean turns per task, one bar each, coloured by the task's pass rate."""
    left, top, plot_w, plot_h = 36, 24, 600, 150
    width, height = left + plot_w + 10, top + plot_h + 30
    peak = math.ceil(max((b.mean_turns for b in bars), default=0.0) or 1.0)
    bar_w = min(plot_w / max(len(bars), 1), 36.0)  # a few tasks: bars, not blocks
    base = top + plot_h
    body = [_text(left - 6, 12, "turns", anchor="end", cls="axis")]
    for tick in range(0, peak + 1, max(1, peak // 4)):
        y = base - plot_h * tick / peak
        body += [
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{GRID}"/>',
            _text(left - 6, y + 4, str(tick), anchor="end", cls="axis"),
        ]
    for i, bar in enumerate(bars):
        h = plot_h * bar.mean_turns / peak
        body.append(
            f'<a href="#task-{escape(bar.task_id)}"><rect x="{left + i * bar_w + 0.5:.1f}" '
            f'y="{base - h:.1f}" width="{max(bar_w - 1, 0.6):.1f}" height="{h:.1f}" '
            f'fill="{rate_color(bar.pass_rate)}"><title>{escape(bar.task_id)}: '
            f"{bar.mean_turns:.1f} turns, {bar.pass_rate:.0%} passed</title></rect></a>"
        )
    caption = (
        f"{len(bars)} tasks, by id (click a bar to open the task). Green: every trial passed; "
        "amber: some; red: none"
    )
    body.append(_text(left, base + 20, caption, cls="axis"))
    return _svg(width, height, body, "turns per task")
