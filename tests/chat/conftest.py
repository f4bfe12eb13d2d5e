"""Drive the real `agentloop chat` in a pseudo-terminal and read what the screen shows."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest

HERE = Path(__file__).parent
# Escape sequences (colours, cursor moves, bracketed paste, ...) and carriage returns:
# what is left is the text the screen shows, in the order it was drawn.
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\r|\x08|\x07")
PROMPT = r"(?m)^>"


class Terminal:
    """A spawned chat: send keys, wait for text to appear on screen."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child
        self.screen = ""
        self._seen = 0

    def _pump(self, timeout: float) -> None:
        with contextlib.suppress(pexpect.TIMEOUT, pexpect.EOF):
            self.screen += _CONTROL.sub("", self.child.read_nonblocking(65536, timeout=timeout))

    def expect(self, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        """Wait until `pattern` shows up after the last match; return the match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.screen, self._seen)
            if match:
                self._seen = match.end()
                return match
            if time.monotonic() > deadline or not self.child.isalive():
                self._pump(0.2)
                match = regex.search(self.screen, self._seen)
                if match:
                    self._seen = match.end()
                    return match
                raise AssertionError(
                    f"{pattern!r} did not appear; screen since last match:\n"
                    f"{self.screen[self._seen :]}"
                )
            self._pump(0.05)

    def since(self, mark: int) -> str:
        """Screen text drawn after position `mark`."""
        return self.screen[mark:]

    @property
    def mark(self) -> int:
        """The current position (for `since`)."""
        return len(self.screen)

    def ask(self, line: str) -> None:
        """Type a line and press Enter."""
        self.child.send(line + "\r")

    def quit(self) -> int:
        """Wait for the prompt, press Ctrl-D, return the exit status.

        Ctrl-D typed ahead while a turn is still printing is taken by the terminal's
        cooked mode and never reaches the prompt, so wait for the prompt first.
        """
        self.expect(PROMPT)
        self.child.sendeof()
        return self.wait_exit()

    def wait_exit(self, timeout: float = 15.0) -> int:
        """Wait for the process to end; return its exit status."""
        deadline = time.monotonic() + timeout
        while self.child.isalive() and time.monotonic() < deadline:
            self._pump(0.1)
        self._pump(0.1)
        self.child.close()
        return int(self.child.exitstatus if self.child.exitstatus is not None else -1)


def chat_env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: own history and data folders, test tools importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTLOOP_")}
    env.update(
        PROMPT_TOOLKIT_NO_CPR="1",
        TERM="xterm-256color",
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),  # no user config file
        # The checkout under test first, whichever checkout the venv was installed from.
        PYTHONPATH=os.pathsep.join([str(HERE), str(HERE.parent.parent)]),
        COLUMNS="120",
        LINES="40",
    )
    return env


@pytest.fixture
def spawn_chat(tmp_path: Path) -> Iterator[Callable[..., Terminal]]:
    """`spawn_chat(base_url, *options)` starts `agentloop chat` with the test tools."""
    children: list[pexpect.spawn] = []

    def spawn(base_url: str, *options: str) -> Terminal:
        argv = ["-m", "agentloop", "chat", "--base-url", base_url, "--tools", "chat_tools:TOOLS"]
        child = pexpect.spawn(
            sys.executable,
            [*argv, *options],
            env=chat_env(tmp_path),
            cwd=str(tmp_path),
            encoding="utf-8",
            dimensions=(40, 120),
        )
        children.append(child)
        return Terminal(child)

    yield spawn
    for child in children:
        if child.isalive():
            child.terminate(force=True)
