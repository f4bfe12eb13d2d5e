"""The chat session: read a question, run the agent on the conversation, draw its events.

The conversation (`messages`) is replaced only by what a run returns, so a cancelled turn,
a bad command or a server error never loses it. Ctrl-C while a turn runs cancels the task
running `agent.run`; the run returns with stop_reason "cancelled" and the messages so far.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from rich.text import Text

from agentloop.chat.commands import COMMANDS, dispatch
from agentloop.chat.errors import describe_error
from agentloop.chat.render import Renderer, short_result
from agentloop.chat.state import ChatSettings
from agentloop.errors import AgentloopError
from sandbox import sanitize_text
from tools import ApprovalDecision, ApprovalRequest, ToolContext, ToolRegistry

if TYPE_CHECKING:
    from agentloop.chat.terminal_input import InputReader
    from agentloop.events import Event
    from agentloop.result import RunResult

ApproveMode = Literal["ask", "auto", "deny"]


class AgentLike(Protocol):
    """What the session needs of `agentloop.Agent` (an object it can stand in for in tests)."""

    async def run(
        self,
        prompt: str | None = None,
        *,
        messages: list[dict[str, Any]] | None = None,
        on_event: Any = None,
        approver: Any = None,
        context: ToolContext | None = None,
        transcript: str | Path | None = None,
        sampling: Mapping[str, Any] | None = None,
    ) -> RunResult: ...

    async def model_id(self) -> str: ...

    async def context_size(self) -> int | None: ...

    async def system_prompt(self) -> str | None: ...

    async def aclose(self) -> None: ...


class AgentFactory(Protocol):
    """Builds an agent for the current settings (called again when they change)."""

    def __call__(self, settings: ChatSettings, tools: ToolRegistry) -> AgentLike: ...


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """Fixed for the whole session.

    Attributes:
        base_url: The server, for error messages.
        approve: How calls of tools that ask for approval are decided.
        transcript: Where raw traffic is appended; None for nowhere.
        debug: Print tracebacks of unexpected errors.
        save_dir: Where `/save` without a path writes.
    """

    base_url: str | None
    approve: ApproveMode
    transcript: Path | None
    debug: bool
    save_dir: Path


class ChatSession:
    """One interactive conversation. Not thread-safe; lives on one event loop."""

    def __init__(
        self,
        options: SessionOptions,
        settings: ChatSettings,
        tools: ToolRegistry,
        reader: InputReader,
        renderer: Renderer,
        agent_factory: AgentFactory,
    ) -> None:
        self.options = options
        self.settings = settings
        self.tools = tools
        self.reader = reader
        self.renderer = renderer
        self.renderer.show_reasoning = settings.show_reasoning
        self.transcript = options.transcript
        self.save_dir = options.save_dir
        self.messages: list[dict[str, Any]] = self._fresh_messages()
        self._factory = agent_factory
        self._agent: AgentLike | None = None
        self._context = ToolContext(run_id="chat")
        self._turn: asyncio.Task[RunResult] | None = None
        self._context_size: int | None = None
        self._main: asyncio.Task[Any] | None = None

    # -- the main loop -------------------------------------------------------------------

    async def run(self) -> int:
        """Read and answer until the input ends or `/exit`; returns the exit code."""
        self._main = asyncio.current_task()
        self._arm_sigint()
        try:
            while True:
                line = await self.reader.read()
                self._arm_sigint()
                if line is None:
                    return 0
                if await self.handle(line) == "exit":
                    return 0
        except asyncio.CancelledError:
            if self._main is not None and self._main.cancelling():
                self._main.uncancel()
            self.renderer.note("interrupted")
            return 130
        finally:
            self._disarm_sigint()
            await self.aclose()

    async def handle(self, line: str) -> Literal["continue", "exit"]:
        """Answer one input line: a slash command or a question. Never raises on bad input."""
        try:
            if line.lstrip().startswith("/"):
                return await dispatch(self, line)
            await self.ask(line)
        except AgentloopError as exc:
            self.renderer.error(describe_error(exc, self.options.base_url))
        except Exception as exc:  # the chat outlives any one bad input
            self._unexpected(exc)
        return "continue"

    async def ask(self, question: str) -> None:
        """Add a question to the conversation and run the agent on it."""
        await self._run_turn([*self.messages, {"role": "user", "content": question}])

    async def retry(self) -> None:
        """Drop everything after the last question and ask it again."""
        last = max(
            (i for i, m in enumerate(self.messages) if m.get("role") == "user"), default=None
        )
        if last is None:
            self.renderer.note("nothing to retry yet")
            return
        await self._run_turn(self.messages[: last + 1])

    async def _run_turn(self, messages: list[dict[str, Any]]) -> None:
        agent = self._ensure_agent()
        self._turn = asyncio.create_task(
            agent.run(
                messages=messages,
                on_event=self._on_event,
                approver=self._approve,
                context=self._context,
                transcript=self.transcript,
                sampling=dict(self.settings.sampling) or None,
            )
        )
        try:
            result = await self._turn
        finally:
            self._turn = None
        self.messages = result.messages
        await self._finish(result)

    async def _finish(self, result: RunResult) -> None:
        if result.error is not None:  # one line that says what to do, instead of the footer
            self.renderer.error(describe_error(result.error, self.options.base_url))
            self.renderer.note("the conversation is kept; /retry asks again")
            return
        if self._context_size is None:
            self._context_size = await self._safe_context_size()
        self.renderer.footer(result, self._context_size)
        if result.stop_reason == "cancelled":
            self.renderer.note("cancelled; the conversation so far is kept")

    async def _safe_context_size(self) -> int | None:
        try:
            return await self._ensure_agent().context_size()
        except Exception:
            return None

    def _on_event(self, event: Event) -> None:
        self.renderer.on_event(event)

    # -- approval and Ctrl-C -------------------------------------------------------------

    async def _approve(self, request: ApprovalRequest) -> ApprovalDecision:
        if self.options.approve == "auto":
            return "yes"
        if self.options.approve == "deny":
            self.renderer.note(f"  {request.name} refused (--approve deny)", "yellow")
            return "no"
        self._show_request(request)
        if request.name == "python":
            self.renderer.note(
                "  (it runs in this chat's Python session, which code from earlier calls "
                "may have changed)"
            )
        decision = await self.reader.confirm(f"  run {sanitize_text(request.name)}?")
        self._arm_sigint()
        if decision is None:
            # Ctrl-C at the approval prompt cancels the whole turn, like Ctrl-C elsewhere.
            task = asyncio.current_task()
            if task is not None:
                task.cancel()
            await asyncio.sleep(0)
            return "no"
        if decision == "no":
            self.renderer.note("  refused; the model is told", "yellow")
        return decision

    def _show_request(self, request: ApprovalRequest) -> None:
        # Model-written: escapes and bidi characters are shown, never executed, so what
        # the user reads is what runs.
        for raw_key, value in request.arguments.items():
            key = sanitize_text(str(raw_key))
            text = sanitize_text(value if isinstance(value, str) else repr(value))
            if "\n" in text:
                self.renderer.notes.print(Text(f"  {key}:", "bold"))
                self.renderer.notes.print(Text(_indent(text, "    ")), soft_wrap=True)
            else:
                self.renderer.notes.print(Text(f"  {key}: {short_result(text)}"), soft_wrap=True)

    def _on_sigint(self) -> None:
        if self._turn is not None and not self._turn.done():
            self._turn.cancel()
        elif self._main is not None:
            # Nothing to cancel (waiting for piped input): end the chat.
            self._main.cancel()

    def _arm_sigint(self) -> None:
        # prompt_toolkit installs its own SIGINT handler while prompting and removes it
        # afterwards, which drops ours: re-arm after every prompt.
        # Outside the main thread (tests) or without signal support Ctrl-C ends the chat.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self._on_sigint)

    def _disarm_sigint(self) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)

    # -- settings and state --------------------------------------------------------------

    def _fresh_messages(self) -> list[dict[str, Any]]:
        system = self.settings.system
        return [{"role": "system", "content": system}] if system else []

    def _ensure_agent(self) -> AgentLike:
        if self._agent is None:
            self._agent = self._factory(self.settings, self.tools)
        return self._agent

    async def update_settings(self, settings: ChatSettings) -> None:
        """Apply new settings; the agent is rebuilt when the model, profile or system prompt
        changes."""
        rebuild = (settings.model, settings.profile, settings.system) != (
            self.settings.model,
            self.settings.profile,
            self.settings.system,
        )
        self.settings = settings
        self.renderer.show_reasoning = settings.show_reasoning
        if rebuild and self._agent is not None:
            old, self._agent = self._agent, None
            await old.aclose()

    async def reset(self) -> None:
        """Start a new conversation; tool state (e.g. python variables) starts clean too."""
        self.messages = self._fresh_messages()
        approved = set(self._context.always_approved)
        await self._context.aclose()
        self._context = ToolContext(run_id="chat", always_approved=approved)

    async def replace_conversation(
        self, messages: list[dict[str, Any]], settings: ChatSettings
    ) -> None:
        """Continue a loaded conversation with its settings."""
        await self.update_settings(settings)
        await self.reset()
        self.messages = list(messages)

    async def set_system(self, system: str | None) -> None:
        """Use another system prompt from the next question on (None: the profile's, ``""``:
        none); the current conversation keeps its messages under the new prompt."""
        await self.update_settings(replace(self.settings, system=system))
        if self.messages and self.messages[0].get("role") == "system":
            self.messages = self.messages[1:]
        if system:
            self.messages = [{"role": "system", "content": system}, *self.messages]

    async def system_prompt(self) -> str | None:
        """The system prompt questions are sent with."""
        if self.messages and self.messages[0].get("role") == "system":
            return str(self.messages[0].get("content") or "")
        return await self._ensure_agent().system_prompt()

    async def describe_model(self) -> str:
        """`model: ID (profile P) at URL` for `/model`."""
        model = await self._ensure_agent().model_id()
        profile = self.settings.profile or "chosen by model id"
        return f"model: {model} (profile {profile}) at {self.options.base_url}"

    def approval_label(self, name: str, approval: str) -> str:
        """How a tool's calls are decided in this session, for `/tools`."""
        if approval == "deny":
            return "never"
        if approval == "auto" or name in self._context.always_approved:
            return "auto"
        return {"ask": "asks", "auto": "auto", "deny": "refused"}[self.options.approve]

    def show_history(self, last: int) -> None:
        """Print the last few user and assistant messages (after `/load`)."""
        shown = [m for m in self.messages if m.get("role") in ("user", "assistant")][-last:]
        for message in shown:
            content = message.get("content") or ""
            if not isinstance(content, str) or not content:
                continue
            who = "you" if message["role"] == "user" else "model"
            self.renderer.note(f"{who}: {short_result(content, lines=3, chars=200)}")

    def _unexpected(self, exc: BaseException) -> None:
        if self.options.debug:
            self.renderer.notes.print(Text("".join(traceback.format_exception(exc)), "red"))
        self.renderer.error(describe_error(exc, self.options.base_url))

    async def aclose(self) -> None:
        """Close tool state and the agent's HTTP pool."""
        await self._context.aclose()
        if self._agent is not None:
            await self._agent.aclose()
            self._agent = None


def command_names() -> list[str]:
    """Slash-command names, for completion."""
    return list(COMMANDS)


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())
