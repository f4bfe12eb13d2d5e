"""The loop-overhead benchmark still runs end to end (a few repetitions, not a measurement)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "loop_overhead.py"


def test_loop_overhead_benchmark_runs_every_variant_and_prints_ratios() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--reps", "2", "--warmup", "0", "--oneshot", "--prior", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "history: 6 messages before the first request" in done.stdout
    for variant in ("bare", "agentloop", "bare-1shot", "arun_agent"):
        for mode in ("json", "stream"):
            assert re.search(rf"^  {re.escape(variant)}/{mode} +cpu +\d", done.stdout, re.M)
    ratios = re.findall(r"ratio agentloop/bare \((json|stream)\) +cpu (\d+\.\d+)x", done.stdout)
    assert [mode for mode, _ in ratios] == ["json", "stream"]
    assert all(float(value) > 0 for _, value in ratios)
