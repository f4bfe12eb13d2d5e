"""Putting a chat together: consoles, input, tools, backend, agent, and the session.

The heavy imports (the HTTP client and the loop) are loaded in a background thread while
the first prompt is already shown, so the prompt appears quickly.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sys
import traceback
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from rich.console import Console
from rich.text import Text

from agentloop.chat.errors import describe_error
from agentloop.chat.render import Renderer
from agentloop.chat.session import ApproveMode, ChatSession, SessionOptions, command_names
from agentloop.chat.state import ChatSettings, load_conversation
from agentloop.chat.status import GuardedStream, StatusLine
from agentloop.chat.terminal_input import InputReader, LineReader, TerminalReader
from agentloop.chat.toolset import Toolset, load_toolset
from agentloop.cli.mcp_args import attach_mcp
from agentloop.config import AgentConfig
from agentloop.errors import ConfigError

if TYPE_CHECKING:
    from agentloop.loop import Agent
    from agentloop.result import RunResult
    from agentloop.server import EmbeddedOptions
    from tools import ToolRegistry
    from tools.mcp import MCPServerConfig


@dataclass(frozen=True, slots=True)
class ChatOptions:
    """Everything `agentloop chat` was asked for.

    Attributes:
        config: Server and loop settings (base_url None starts the embedded server).
        settings: Model, profile, sampling, system prompt, reasoning display.
        approve: How calls that need approval are decided; None asks on a terminal and
            refuses otherwise.
        interactive: stdin is a terminal (prompt_toolkit) rather than a pipe (lines).
        tools: "builtin", "none" or "module:attr".
        mcp: MCP servers whose tools are added (approval "ask" unless configured).
        workspace: The directory built-in tools may read and write.
        history_file: Persistent input history.
        save_dir: Where `/save` without a path writes.
        transcript: Where raw traffic is appended.
        load: A saved conversation to continue.
        debug: Print tracebacks of unexpected errors.
        status: Show the live status line while a question runs (terminal only).
        embedded: How to start the embedded server when there is no base URL (None: from
            the process environment).
    """

    config: AgentConfig
    settings: ChatSettings
    interactive: bool
    workspace: Path
    history_file: Path
    save_dir: Path
    approve: ApproveMode | None = None
    tools: str = "builtin"
    mcp: tuple[MCPServerConfig, ...] = ()
    transcript: Path | None = None
    load: Path | None = None
    debug: bool = False
    status: bool = True
    embedded: EmbeddedOptions | None = None

    @property
    def approve_mode(self) -> ApproveMode:
        """The effective approval mode."""
        if self.approve is not None:
            return self.approve
        return "ask" if self.interactive else "deny"


class _ChatAgent:
    """`agentloop.Agent` plus the context-size lookup the footer needs, and the status
    line shown while a run is under way."""

    def __init__(self, agent: Agent, status: StatusLine | None) -> None:
        self._agent = agent
        self._status = status

    async def run(self, prompt: str | None = None, **kwargs: Any) -> RunResult:
        if self._status is None:
            return await self._agent.run(prompt, **kwargs)
        self._status.start()
        try:
            return await self._agent.run(prompt, **kwargs)
        finally:
            await self._status.stop()

    async def model_id(self) -> str:
        return await self._agent.model_id()

    async def context_size(self) -> int | None:
        return (await self._agent.info()).context_size

    async def system_prompt(self) -> str | None:
        return await self._agent.system_prompt()

    async def aclose(self) -> None:
        await self._agent.aclose()


def _agent_factory(config: AgentConfig, status: StatusLine | None = None) -> Any:
    def build(settings: ChatSettings, tools: ToolRegistry) -> _ChatAgent:
        from agentloop.loop import Agent

        agent = Agent(
            config=config.with_(model=settings.model),
            tools=tools,
            profile=settings.profile,
            system=settings.system,
        )
        return _ChatAgent(agent, status)

    return build


async def run_chat(options: ChatOptions) -> int:
    """Run `agentloop chat` to the end; returns the exit code."""
    renderer = _renderer(options)
    # Warm up the loop's imports (HTTP client, openai) while the user types the first line.
    asyncio.get_running_loop().run_in_executor(None, _preload)
    try:
        toolset = load_toolset(options.tools, options.workspace)
    except Exception as exc:
        _report(renderer, exc, options)
        return 2
    try:
        await attach_mcp(options.mcp, toolset.registry)  # stopped by toolset.aclose()
        async with _backend(options.config, options.embedded, renderer) as config:
            session = _session(options, config, toolset.registry, renderer)
            if options.load is not None:
                messages, settings = load_conversation(options.load)
                await session.replace_conversation(messages, settings)
            _banner(renderer, config, toolset, options)
            if options.load is not None:
                session.show_history(last=4)
            return await session.run()
    except Exception as exc:  # start-up failures: one line, never a traceback by default
        _report(renderer, exc, options)
        return 2 if isinstance(exc, ConfigError) else 1
    finally:
        await toolset.aclose()


def _renderer(options: ChatOptions) -> Renderer:
    """On a terminal, everything goes through one guarded stream with a status line;
    piped, answers go to stdout and the rest to stderr, with no status line."""
    show = options.settings.show_reasoning
    if not options.interactive:
        console = Console(highlight=False)
        return Renderer(console, Console(stderr=True, highlight=False), show_reasoning=show)
    stream = GuardedStream(sys.stdout)
    status = StatusLine(stream, enabled=options.status)
    console = Console(file=cast(IO[str], stream), highlight=False)
    return Renderer(console, show_reasoning=show, status=status)


def _preload() -> None:
    with contextlib.suppress(Exception):
        importlib.import_module("agentloop.loop")


def _report(renderer: Renderer, exc: BaseException, options: ChatOptions) -> None:
    if options.debug:
        renderer.notes.print(Text("".join(traceback.format_exception(exc)), "red"))
    renderer.error(describe_error(exc, options.config.base_url))


@contextlib.asynccontextmanager
async def _backend(
    config: AgentConfig, embedded: EmbeddedOptions | None, renderer: Renderer
) -> AsyncIterator[AgentConfig]:
    if config.base_url:
        yield config
        return
    from agentloop.server import ensure_backend

    renderer.note("no --base-url: starting the embedded llama-server …")
    async with ensure_backend(config, embedded) as started:
        renderer.note(f"embedded llama-server ready at {started.base_url}")
        yield started


def _session(
    options: ChatOptions, config: AgentConfig, tools: ToolRegistry, renderer: Renderer
) -> ChatSession:
    reader: InputReader
    status = renderer.status
    if options.interactive:
        reader = TerminalReader(
            options.history_file,
            command_names(),
            around_prompt=status.paused if status is not None else None,
        )
    else:
        reader = LineReader()
    session_options = SessionOptions(
        base_url=config.base_url,
        approve=options.approve_mode,
        transcript=options.transcript,
        debug=options.debug,
        save_dir=options.save_dir,
    )
    return ChatSession(
        session_options,
        options.settings,
        tools,
        reader,
        renderer,
        _agent_factory(config, status),
    )


def _banner(
    renderer: Renderer, config: AgentConfig, toolset: Toolset, options: ChatOptions
) -> None:
    if not options.interactive:
        return
    names = ", ".join(toolset.registry.names()) or "none"
    renderer.note(f"agentloop chat · {config.base_url} · tools: {names}", "bold")
    if toolset.note:
        renderer.note(toolset.note)
    renderer.note(
        f"approval: {options.approve_mode} · /help for commands · Esc Enter for a new line · "
        "Ctrl-C cancels a turn · Ctrl-D quits"
    )
