"""The live status line: unit tests of its drawing rules, then the real chat in a
pseudo-terminal (pexpect) and in tmux (what the screen finally shows)."""

from __future__ import annotations

import io
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.console import Console

from agentloop.chat.render import Renderer
from agentloop.chat.status import GuardedStream, StatusLine
from agentloop.events import (
    ReasoningDelta,
    RunFinished,
    TextDelta,
    ToolCallStarted,
    TurnFinished,
)
from agentloop.result import Usage
from agentloop.testing import FakeOpenAIServer, FakeReply
from tests.chat.conftest import PROMPT, Terminal, chat_env

Spawn = Callable[..., Terminal]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _status(enabled: bool = True) -> tuple[io.StringIO, GuardedStream, StatusLine, Clock]:
    raw = io.StringIO()
    stream = GuardedStream(raw)
    clock = Clock()
    return raw, stream, StatusLine(stream, enabled=enabled, clock=clock, width=lambda: 80), clock


def test_status_shows_phase_and_elapsed_seconds() -> None:
    raw, _, status, clock = _status()
    status.set("waiting for the model")
    clock.now += 3.2
    status.tick()
    assert raw.getvalue().endswith("waiting for the model · 3 s\x1b[0m")


def test_any_write_erases_the_status_first() -> None:
    raw, stream, status, _ = _status()
    status.set("running python")
    status.tick()
    stream.write("answer\n")
    shown = raw.getvalue()
    assert shown.index("running python") < shown.rindex("\r\x1b[2K") < shown.index("answer")


def test_status_is_not_drawn_in_the_middle_of_a_line() -> None:
    raw, stream, status, _ = _status()
    stream.write("partial answer")
    status.set("waiting for the model")
    status.tick()
    assert raw.getvalue() == "partial answer"


def test_disabled_status_writes_nothing() -> None:
    raw, _, status, _ = _status(enabled=False)
    status.set("waiting for the model")
    status.tick()
    assert raw.getvalue() == ""


def test_paused_status_is_erased_and_not_redrawn() -> None:
    raw, _, status, _ = _status()
    status.set("running python")
    status.tick()
    with status.paused():
        before = raw.getvalue()
        status.tick()
        assert raw.getvalue() == before
        assert before.endswith("\r\x1b[2K")
    status.tick()
    assert raw.getvalue().endswith("running python · 0 s\x1b[0m")


def test_long_phase_is_cut_to_the_terminal_width() -> None:
    raw = io.StringIO()
    status = StatusLine(GuardedStream(raw), enabled=True, width=lambda: 30)
    status.set("running " + "x" * 100)
    assert len(status.text()) == 29


def _usage() -> Usage:
    return Usage(prompt_tokens=1, completion_tokens=1, total_tokens=2)


def test_renderer_phases_follow_the_events() -> None:
    _, stream, status, _ = _status()
    renderer = Renderer(Console(file=stream), show_reasoning=False, status=status)
    status.set("waiting for the model")
    renderer.on_event(ReasoningDelta(turn=1, text="hmm, let me see"))
    assert status.phase == "thinking"
    assert "thinking (15 chars) · " in status.text()
    renderer.on_event(TurnFinished(1, "tool_calls", "", "hmm", 1, _usage(), duration=1.0))
    renderer.on_event(ToolCallStarted(1, "c1", "python", {}, "{}", recovered=False))
    assert status.phase == "running python"
    renderer.on_event(TextDelta(turn=2, text="The answer"))
    assert status.phase is None
    renderer.on_event(RunFinished("completed", 2, _usage(), 1.0, "The answer"))
    assert status.phase is None


def test_shown_reasoning_hides_the_status() -> None:
    _, stream, status, _ = _status()
    renderer = Renderer(Console(file=stream), show_reasoning=True, status=status)
    status.set("waiting for the model")
    renderer.on_event(ReasoningDelta(turn=1, text="thinking aloud"))
    assert status.phase is None


# -- the real chat in a pseudo-terminal ----------------------------------------------------


def test_waiting_status_shows_elapsed_time_then_gives_way_to_the_answer(
    spawn_chat: Spawn,
) -> None:
    with FakeOpenAIServer([FakeReply("The capital is Paris.", delay=2.5)]) as server:
        term = spawn_chat(server.base_url)
        term.expect(PROMPT)
        term.ask("capital of France?")
        term.expect(r"waiting for the model · 0 s")
        term.expect(r"waiting for the model · [12] s")
        answer = term.expect(r"The capital is Paris\.")
        term.expect(r"─ \d+ in")
        assert term.quit() == 0
        assert "waiting" not in term.screen[answer.end() :]  # gone once the answer streams


def test_running_tool_status_names_the_tool(spawn_chat: Spawn) -> None:
    script = [FakeReply(tool_calls=[("slow", {"seconds": 1.5})]), FakeReply("done sleeping")]
    with FakeOpenAIServer(script) as server:
        term = spawn_chat(server.base_url)
        term.expect(PROMPT)
        term.ask("sleep a bit")
        term.expect(r"⚙ slow\(seconds=1\.5\)")
        term.expect(r"running slow · [01] s")
        term.expect(r"→ slept")
        term.expect(r"done sleeping")
        assert term.quit() == 0


def test_piped_chat_prints_no_status(tmp_path: Path) -> None:
    with FakeOpenAIServer([FakeReply("4", delay=1.0)]) as server:
        done = subprocess.run(
            [sys.executable, "-m", "agentloop", "chat", "--base-url", server.base_url],
            input="2+2?\n",
            capture_output=True,
            text=True,
            env=chat_env(tmp_path),
            cwd=tmp_path,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "4\n"
    assert "waiting" not in done.stderr
    assert "\x1b[" not in done.stdout + done.stderr


# -- the real chat in tmux: what the screen finally shows -----------------------------------


class Tmux:
    """A detached tmux session running one command; `screen()` is the visible text."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.name = f"agentloop-test-{uuid.uuid4().hex[:8]}"
        command = shlex.join(["env", *(f"{k}={v}" for k, v in env.items()), *argv])
        size = ["-x", "100", "-y", "30"]
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.name, *size, "-c", str(cwd), command],
            check=True,
            env={k: v for k, v in os.environ.items() if k != "TMUX"},
        )

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        done = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True
        )
        return done.stdout

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} did not appear; screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def tmux_chat(tmp_path: Path) -> Iterator[Callable[[str], Tmux]]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    sessions: list[Tmux] = []

    def start(base_url: str) -> Tmux:
        argv = ["-m", "agentloop", "chat", "--base-url", base_url, "--tools", "chat_tools:TOOLS"]
        wanted = ("PYTHONPATH", "PROMPT_TOOLKIT_NO_CPR", "TERM", "HOME", "PATH")
        env = {k: v for k, v in chat_env(tmp_path).items() if k in wanted or k.startswith("XDG")}
        session = Tmux([sys.executable, *argv], env, tmp_path)
        sessions.append(session)
        return session

    yield start
    for session in sessions:
        session.close()


def test_screen_after_a_tool_turn_holds_no_status_debris(
    tmux_chat: Callable[[str], Tmux],
) -> None:
    script = [
        FakeReply(tool_calls=[("slow", {"seconds": 1.2})], delay=1.2),
        FakeReply("All done, I slept.", delay=1.2),
    ]
    with FakeOpenAIServer(script) as server:
        chat = tmux_chat(server.base_url)
        chat.wait_for("Ctrl-D quits")
        chat.keys("sleep please", "Enter")
        assert "waiting for the model" in chat.wait_for("waiting for the model")
        assert "running slow" in chat.wait_for("running slow")
        screen = chat.wait_for("─ ")
        chat.keys("C-d")
    lines = [line.rstrip() for line in screen.splitlines()]
    assert "All done, I slept." in lines  # the answer stands on its own line, whole
    assert any(line.startswith("⚙ slow(seconds=1.2)") for line in lines)
    assert any(line.startswith("  → slept") for line in lines)
    assert not any("waiting for" in line or "running slow" in line for line in lines)


def test_prompt_progress_event_shows_the_share_processed() -> None:
    # The contract for a future `PromptProgress` event (llama-server's `return_progress`):
    # kind "prompt_progress" with `processed` and `total` prompt tokens.
    from dataclasses import dataclass
    from typing import Any, Literal

    @dataclass(frozen=True)
    class PromptProgress:
        turn: int
        processed: int
        total: int
        cache: int
        kind: Literal["prompt_progress"] = "prompt_progress"

    _, stream, status, _ = _status()
    renderer = Renderer(Console(file=stream), status=status)
    status.set("waiting for the model")
    event: Any = PromptProgress(turn=1, processed=512, total=2048, cache=0)
    renderer.on_event(event)
    assert status.phase == "processing the prompt"
    assert "processing the prompt 25% of 2,048 tokens · " in status.text()
