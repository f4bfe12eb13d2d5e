"""The live status line of the chat: what the model is doing while nothing else moves.

While a question runs, one dim line at the bottom says the phase and how long it has
lasted: `⠋ waiting for the model · 4 s`, `⠋ thinking (1,234 chars) · 9 s`,
`⠋ running python · 2 s`. It is erased before anything else is printed, drawn again only
when the cursor is at the start of a line, and never drawn at all when the output is not
a terminal, so it can neither mix with the answer nor end up in a pipe.

Everything the chat prints goes through `GuardedStream`, which erases the line first.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
import time
from collections.abc import Callable, Iterator
from typing import TextIO

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_ERASE = "\r\x1b[2K"
_DIM = "\x1b[2m"
_RESET = "\x1b[0m"


class GuardedStream(io.TextIOBase):
    """A text stream that erases the status line before every write.

    Args:
        stream: The terminal (usually `sys.stdout`).
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self.status_visible = False
        self.at_line_start = True

    def write(self, text: str) -> int:
        """Erase the status line if it is shown, then write `text`."""
        if not text:
            return 0
        if self.status_visible:
            self._stream.write(_ERASE)
            self.status_visible = False
        self._stream.write(text)
        self.at_line_start = text.endswith("\n")
        return len(text)

    def draw(self, line: str) -> None:
        """Show `line` as the status (replacing the previous one); no newline."""
        self._stream.write(f"{_ERASE}{_DIM}{line}{_RESET}")
        self._stream.flush()
        self.status_visible = True

    def erase(self) -> None:
        """Remove the status line, if shown."""
        if self.status_visible:
            self._stream.write(_ERASE)
            self._stream.flush()
            self.status_visible = False

    def flush(self) -> None:
        """Flush the terminal."""
        self._stream.flush()

    def isatty(self) -> bool:
        """Whether the terminal is one (rich asks, to decide on colours)."""
        return self._stream.isatty()

    def fileno(self) -> int:
        """The terminal's file descriptor (rich asks it for the window size)."""
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """The terminal's encoding."""
        return getattr(self._stream, "encoding", None) or "utf-8"


class StatusLine:
    """The phase of the running question and a ticker that redraws it.

    Args:
        stream: The guarded terminal stream everything else is printed through.
        enabled: False (output not a terminal) makes every method a no-op.
        interval: Seconds between redraws.
        clock: Monotonic seconds (tests pass a fake).
        width: Terminal columns (default: asked each time, so resizes are followed).
    """

    def __init__(
        self,
        stream: GuardedStream,
        *,
        enabled: bool,
        interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        width: Callable[[], int] | None = None,
    ) -> None:
        self._stream = stream
        self.enabled = enabled
        self._interval = interval
        self._clock = clock
        self._width = width or (lambda: shutil.get_terminal_size().columns)
        self._phase: str | None = None
        self._detail = ""
        self._since = 0.0
        self._frame = 0
        self._paused = 0
        self._ticker: asyncio.Task[None] | None = None

    @property
    def phase(self) -> str | None:
        """What is shown (None: nothing)."""
        return self._phase

    def set(self, phase: str | None, detail: str = "") -> None:
        """Switch to `phase` (None hides the line); the clock restarts when it changes.

        Args:
            phase: "waiting for the model", "thinking", "running python", ...
            detail: Shown after the phase and may change without restarting the clock,
                e.g. " (1,234 chars)".
        """
        if phase is None:
            self._phase = None
            self._stream.erase()
            return
        if phase != self._phase:
            self._since = self._clock()
        self._phase = phase
        self._detail = detail

    def text(self) -> str:
        """The line as drawn: spinner, phase, elapsed seconds; cut to the terminal width."""
        elapsed = self._clock() - self._since
        line = (
            f"{_FRAMES[self._frame % len(_FRAMES)]} {self._phase}{self._detail} · {elapsed:.0f} s"
        )
        limit = max(10, self._width() - 1)  # never wrap: a wrapped line cannot be erased
        return line if len(line) <= limit else line[: limit - 1] + "…"

    def tick(self) -> None:
        """Redraw, if there is a phase and the cursor is at the start of a line."""
        if not self.enabled or self._phase is None or self._paused:
            return
        if not self._stream.at_line_start:
            return
        self._frame += 1
        self._stream.draw(self.text())

    def start(self) -> None:
        """A question starts: show "waiting for the model" and start redrawing."""
        if not self.enabled:
            return
        self.set("waiting for the model")
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """The question is over: erase the line and stop redrawing."""
        self.set(None)
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Hide the line while something else owns the terminal (an approval prompt)."""
        self._paused += 1
        self._stream.erase()
        try:
            yield
        finally:
            self._paused -= 1
            self._since = self._clock()  # time spent answering is not the phase's

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            self.tick()
