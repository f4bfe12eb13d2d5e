"""report.html: self-contained, well-formed, safe against hostile transcripts, and rendered
by a real headless chromium."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from agentloop.config import AgentConfig
from agentloop.eval import EvalOptions, FixedTools, load_tasks, run_eval
from agentloop.testing import ScriptedBackend, reply
from tests.eval.helpers import TEST_TOOLS, scripted_step, standard_tasks, task_line, write_tasks

CONFIG = AgentConfig(base_url="http://scripted.invalid/v1", stream=False)
HOSTILE = "</script><script>document.title='pwned'</script><img src=x onerror=alert(1)>"


class Structure(HTMLParser):
    """Collects tags, checks nesting, and notes anything that would load from elsewhere."""

    VOID = frozenset({"meta", "input", "br", "img", "link", "rect", "line", "path"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.external: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        for name in ("src", "href"):
            if re.match(r"^(https?:)?//", values.get(name) or ""):
                self.external.append(f"{tag} {name}={values[name]}")
        if tag == "link" or (tag == "script" and "src" in values):
            self.external.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()


@pytest.fixture
async def run_dir(tmp_path: Path) -> Path:
    path = standard_tasks(tmp_path / "tasks.jsonl")
    with path.open("a") as handle:
        handle.write(
            task_line("evil", "say " + HOSTILE, [{"type": "answer_contains", "value": "nothing"}])
            + "\n"
        )
    out = tmp_path / "run"
    await run_eval(
        load_tasks(path),
        [CONFIG],
        EvalOptions(out_dir=out, trials=2, concurrency=4),
        provider=FixedTools(TEST_TOOLS),
        backend_factory=lambda c: ScriptedBackend([scripted_step]),
    )
    return out


def test_report_is_well_formed_and_self_contained(run_dir: Path) -> None:
    html = (run_dir / "report.html").read_text()
    parser = Structure()
    parser.feed(html)
    parser.close()
    assert parser.stack == [] and parser.external == []
    assert parser.tags.count("svg") == 3 and parser.tags.count("details") == 5
    assert {"task-add", "task-wrong", "task-evil", "transcripts"} <= parser.ids
    assert "<script>document.title" not in html  # hostile text never becomes markup
    data = re.search(r'<script type="application/json" id="transcripts">(.*?)</script>', html, re.S)
    assert data is not None
    transcripts = json.loads(data.group(1))
    assert HOSTILE in transcripts["evil/0"]["messages"][0]["content"]
    assert len(transcripts) == 10


async def test_long_messages_are_capped_in_the_report(tmp_path: Path) -> None:
    check = {"type": "max_tool_calls", "value": 0}
    path = write_tasks(tmp_path / "t.jsonl", [task_line("long", "say x", [check])])
    out = tmp_path / "run"
    await run_eval(
        load_tasks(path),
        [CONFIG],
        EvalOptions(out_dir=out),
        provider=FixedTools(TEST_TOOLS),
        backend_factory=lambda c: ScriptedBackend([reply("y" * 50_000)]),
    )
    html = (out / "report.html").read_text()
    assert "y" * 4000 in html and "y" * 4001 not in html
    assert "more characters in the transcript file" in html
    saved = json.loads((out / "transcripts" / "long" / "trial-0.json").read_text())
    assert saved["messages"][-1]["content"] == "y" * 50_000


def chromium(*args: str, timeout: float = 120.0) -> tuple[int, str, str]:
    """Run headless chromium; returns (exit code, stdout, stderr). On a timeout the whole
    process group is killed: chromium's helper processes would otherwise keep the pipes
    open and hang the test."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("chromium is not installed (scripts/install-system-deps)")
    with tempfile.TemporaryDirectory() as scratch:
        out, err = Path(scratch) / "out", Path(scratch) / "err"
        with out.open("w") as stdout, err.open("w") as stderr:
            child = subprocess.Popen(
                [
                    binary,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    f"--user-data-dir={scratch}/profile",
                    "--hide-scrollbars",
                    *args,
                ],
                stdout=stdout,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                code = child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                pytest.fail(f"chromium did not finish in {timeout} s")
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)  # helpers left behind, if any
        return code, out.read_text(), err.read_text()


@pytest.mark.browser
def test_report_renders_in_headless_chromium(run_dir: Path) -> None:
    report = (run_dir / "report.html").resolve()
    code, html, err = chromium(
        "--virtual-time-budget=3000", "--dump-dom", f"{report.as_uri()}#task-wrong"
    )
    assert code == 0, err[-2000:]
    assert 'data-ready="1"' in html  # the script ran to the end
    assert "5 of 5 tasks shown" in html  # filters initialised
    opened = html.split('id="task-wrong"', 1)[1].split("</details>", 1)[0]
    assert " open" in opened.split(">", 1)[0]  # the hash opened the drill-down
    assert opened.count('class="msg ') >= 8  # 2 trials x (user, call, result, answer) rendered
    assert "add_number(" in opened
    assert "pwned" not in html.split("<title>", 1)[1].split("</title>", 1)[0]

    shot = run_dir / "report.png"
    code, _, err = chromium("--window-size=1280,900", f"--screenshot={shot}", report.as_uri())
    assert code == 0, err[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1280, 900)
    assert len(png) > 40_000  # charts and text, not a blank page
