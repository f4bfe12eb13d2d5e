"""Slash commands of the chat: `/help`, `/save`, `/set temperature 0.7`, ...

Each command is a small async function of the session and the rest of the line. Commands
never end the chat by raising: a bad argument prints one line and the conversation stays.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rich.table import Table
from rich.text import Text

from agentloop.chat.state import (
    default_save_path,
    load_conversation,
    parse_value,
    save_conversation,
)
from agentloop.errors import ConfigError
from agentloop.profiles import BUILTIN_PROFILES, SAMPLING_FIELDS

if TYPE_CHECKING:
    from agentloop.chat.session import ChatSession

Outcome = Literal["continue", "exit"]
Handler = Callable[["ChatSession", str], Awaitable[Outcome]]


@dataclass(frozen=True, slots=True)
class Command:
    """One slash command: its usage line, what it does, and the code that does it."""

    name: str
    usage: str
    help: str
    handler: Handler


async def _help(session: ChatSession, arg: str) -> Outcome:
    table = Table.grid(padding=(0, 2))
    for command in COMMANDS.values():
        table.add_row(Text(command.usage, "bold"), command.help)
    table.add_row(Text("Esc Enter", "bold"), "new line (multi-line input); pastes keep newlines")
    table.add_row(Text("Ctrl-C", "bold"), "cancel the running turn (the conversation stays)")
    table.add_row(Text("Ctrl-D", "bold"), "quit")
    session.renderer.notes.print(table)
    return "continue"


async def _reset(session: ChatSession, arg: str) -> Outcome:
    await session.reset()
    session.renderer.note("conversation cleared")
    return "continue"


async def _tools(session: ChatSession, arg: str) -> Outcome:
    registry = session.tools
    if not len(registry):
        session.renderer.note("no tools")
        return "continue"
    table = Table.grid(padding=(0, 2))
    for name in registry.names():
        tool = registry.get(name)
        if tool is None:
            continue
        approval = session.approval_label(tool.name, tool.approval)
        summary = tool.definition.description.strip().splitlines()[0:1]
        table.add_row(Text(name, "bold cyan"), Text(approval, "dim"), " ".join(summary))
    session.renderer.notes.print(table)
    return "continue"


async def _save(session: ChatSession, arg: str) -> Outcome:
    path = Path(arg.strip()) if arg.strip() else default_save_path(session.save_dir)
    written = save_conversation(path, session.messages, session.settings)
    session.renderer.note(f"saved {len(session.messages)} messages to {written}")
    return "continue"


async def _load(session: ChatSession, arg: str) -> Outcome:
    if not arg.strip():
        raise ConfigError("usage: /load PATH")
    messages, settings = load_conversation(Path(arg.strip()))
    await session.replace_conversation(messages, settings)
    session.renderer.note(f"loaded {len(messages)} messages from {arg.strip()}")
    session.show_history(last=4)
    return "continue"


async def _model(session: ChatSession, arg: str) -> Outcome:
    if arg.strip():
        await session.update_settings(replace(session.settings, model=arg.strip()))
    session.renderer.note(await session.describe_model())
    return "continue"


async def _profile(session: ChatSession, arg: str) -> Outcome:
    name = arg.strip()
    if not name:
        known = ", ".join(BUILTIN_PROFILES)
        current = session.settings.profile or "(chosen by model id)"
        session.renderer.note(f"profile: {current}; known: {known}")
        return "continue"
    if name not in BUILTIN_PROFILES:
        raise ConfigError(f"unknown profile {name!r}; known: {', '.join(BUILTIN_PROFILES)}")
    await session.update_settings(replace(session.settings, profile=name))
    session.renderer.note(f"profile: {name}")
    return "continue"


async def _system(session: ChatSession, arg: str) -> Outcome:
    text = arg.strip()
    if text:
        choice = {"off": "", "default": None}.get(text.lower(), text)
        await session.set_system(choice)
    current = await session.system_prompt()
    origin = {None: "the profile's default", "": "off"}.get(session.settings.system, "yours")
    if current:
        session.renderer.note(f"system prompt ({origin}):\n{current}")
    else:
        session.renderer.note(f"no system prompt ({origin}); /system TEXT sets one")
    return "continue"


async def _set(session: ChatSession, arg: str) -> Outcome:
    parts = arg.split(None, 1)
    if not parts:
        current = dict(session.settings.sampling) or "(profile defaults)"
        session.renderer.note(
            f"sampling overrides: {current}; fields: {', '.join(SAMPLING_FIELDS)}"
        )
        return "continue"
    name = parts[0]
    value = parse_value(parts[1]) if len(parts) > 1 else None
    await session.update_settings(session.settings.with_sampling(name, value))
    shown = "profile default" if value is None else repr(value)
    session.renderer.note(f"{name} = {shown}")
    return "continue"


async def _think(session: ChatSession, arg: str) -> Outcome:
    word = arg.strip().lower()
    if word not in ("on", "off", ""):
        raise ConfigError("usage: /think on|off")
    show = not session.settings.show_reasoning if not word else word == "on"
    await session.update_settings(replace(session.settings, show_reasoning=show))
    session.renderer.note(f"reasoning {'shown' if show else 'folded'}")
    return "continue"


async def _retry(session: ChatSession, arg: str) -> Outcome:
    await session.retry()
    return "continue"


async def _transcript(session: ChatSession, arg: str) -> Outcome:
    if arg.strip():
        session.transcript = Path(arg.strip()).expanduser()
    where = session.transcript
    if where is None:
        session.renderer.note("no transcript; `/transcript FILE` records raw traffic to FILE")
    else:
        session.renderer.note(f"raw traffic is appended to {where}")
    return "continue"


async def _exit(session: ChatSession, arg: str) -> Outcome:
    return "exit"


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("/help", "/help", "this list", _help),
        Command("/reset", "/reset", "start a new conversation (settings stay)", _reset),
        Command("/tools", "/tools", "the tools the model may call, and their approval", _tools),
        Command("/save", "/save [PATH]", "save the conversation and settings as JSON", _save),
        Command("/load", "/load PATH", "load a saved conversation and continue it", _load),
        Command("/model", "/model [ID]", "show the model (or ask for another id)", _model),
        Command("/profile", "/profile NAME", "switch sampling profile", _profile),
        Command(
            "/system",
            "/system [TEXT|off|default]",
            "show or replace the system prompt",
            _system,
        ),
        Command("/set", "/set FIELD VALUE", "override sampling, e.g. /set temperature 0.7", _set),
        Command("/think", "/think on|off", "show reasoning, or fold it to one line", _think),
        Command("/retry", "/retry", "ask the last question again", _retry),
        Command("/transcript", "/transcript [FILE]", "where raw traffic is recorded", _transcript),
        Command("/exit", "/exit", "quit (also Ctrl-D)", _exit),
    )
}


async def dispatch(session: ChatSession, line: str) -> Outcome:
    """Run one slash command line.

    Raises:
        ConfigError: Unknown command or bad arguments (the caller prints it).
    """
    name, _, arg = line.strip().partition(" ")
    command = COMMANDS.get(name.lower())
    if command is None:
        matches = [c for c in COMMANDS if c.startswith(name.lower())]
        if len(matches) != 1:
            raise ConfigError(f"unknown command {name}; /help lists them")
        command = COMMANDS[matches[0]]
    return await command.handler(session, arg)
