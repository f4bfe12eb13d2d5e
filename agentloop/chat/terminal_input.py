"""Reading what the user types: prompt_toolkit on a terminal, plain lines otherwise.

Both readers return the next input, or None at end of input (Ctrl-D, end of the pipe). On
a terminal, Ctrl-C at the prompt clears the line (`KeyboardInterrupt` is swallowed);
Esc then Enter inserts a newline, and a bracketed paste keeps its newlines.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession

from tools import ApprovalDecision


class InputReader(Protocol):
    """Where the chat's questions and approval answers come from."""

    async def read(self) -> str | None:
        """The next question or command; None when the input has ended."""
        ...

    async def confirm(self, question: str) -> ApprovalDecision | None:
        """Ask yes / no / always; None when the user interrupted (Ctrl-C, end of input)."""
        ...


def parse_decision(answer: str) -> ApprovalDecision | None:
    """`y`/`yes`, `n`/`no`, `a`/`always` (any case); None for anything else."""
    word = answer.strip().lower()
    if word in ("y", "yes"):
        return "yes"
    if word in ("n", "no"):
        return "no"
    if word in ("a", "always"):
        return "always"
    return None


class LineReader:
    """Plain line input from a pipe or file: one question per line.

    Approvals cannot be answered from a pipe, so `confirm` refuses the call (and the model is
    told) rather than consuming the next question as an answer.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdin

    async def read(self) -> str | None:
        """The next non-empty line, or None at end of input."""
        while True:
            line = await self._readline()
            if not line:
                return None
            if line.strip():
                return line.rstrip("\n")

    async def _readline(self) -> str:
        # A daemon thread rather than the loop's executor: a read blocked on a silent pipe
        # must not keep the process alive after Ctrl-C.
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()

        def deliver(line: str) -> None:
            if not future.done():
                future.set_result(line)

        def work() -> None:
            line = self._stream.readline()
            with contextlib.suppress(RuntimeError):  # the loop has closed meanwhile
                loop.call_soon_threadsafe(deliver, line)

        threading.Thread(target=work, name="agentloop-stdin", daemon=True).start()
        return await future

    async def confirm(self, question: str) -> ApprovalDecision | None:
        """Always "no": nobody is there to answer."""
        return "no"


class TerminalReader:
    """prompt_toolkit input with persistent history, multi-line and `/` completion.

    Args:
        history_file: Where past inputs are kept across sessions.
        commands: Slash-command names to complete.
        around_prompt: Entered while an approval question is on screen (the chat hides
            its status line with it).
    """

    def __init__(
        self,
        history_file: Path,
        commands: Iterable[str],
        around_prompt: Callable[[], contextlib.AbstractContextManager[None]] | None = None,
    ) -> None:
        self._history_file = history_file
        self._commands = list(commands)
        self._session: PromptSession[str] | None = None
        self._around_prompt = around_prompt or contextlib.nullcontext

    def _prompt_session(self) -> PromptSession[str]:
        if self._session is None:
            self._session = _build_session(self._history_file, self._commands)
        return self._session

    async def read(self) -> str | None:
        """The next input; Ctrl-C clears the line, Ctrl-D ends the chat."""
        session = self._prompt_session()
        while True:
            try:
                text = await session.prompt_async("> ")
            except KeyboardInterrupt:
                continue
            except EOFError:
                return None
            if text.strip():
                return text

    async def confirm(self, question: str) -> ApprovalDecision | None:
        """Ask until the answer is yes, no or always; None on Ctrl-C or Ctrl-D."""
        from prompt_toolkit import PromptSession

        asker: PromptSession[str] = PromptSession()
        with self._around_prompt():
            while True:
                try:
                    answer = await asker.prompt_async(f"{question} [y]es / [n]o / [a]lways: ")
                except (KeyboardInterrupt, EOFError):
                    return None
                decision = parse_decision(answer)
                if decision is not None:
                    return decision


def _build_session(history_file: Path, commands: list[str]) -> PromptSession[str]:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import CompleteEvent, Completer, Completion
    from prompt_toolkit.document import Document
    from prompt_toolkit.history import FileHistory
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

    history_file.parent.mkdir(parents=True, exist_ok=True)
    bindings = KeyBindings()

    @bindings.add("escape", "enter")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    class SlashCompleter(Completer):
        """Completes `/command` names at the start of the input."""

        def get_completions(
            self, document: Document, complete_event: CompleteEvent
        ) -> Iterable[Completion]:
            text = document.text_before_cursor
            if not text.startswith("/") or " " in text:
                return
            for name in sorted(commands):
                if name.startswith(text):
                    yield Completion(name, start_position=-len(text))

    return PromptSession(
        history=FileHistory(str(history_file)),
        completer=SlashCompleter(),
        complete_while_typing=True,
        key_bindings=bindings,
        prompt_continuation="  ",
    )
