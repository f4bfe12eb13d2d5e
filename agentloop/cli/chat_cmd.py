"""`agentloop chat`: the interactive REPL (and the server options `agentloop run` shares).

Every option also reads an environment variable (AGENTLOOP_BASE_URL, AGENTLOOP_MODEL,
AGENTLOOP_API_KEY, AGENTLOOP_SERVER_KIND, AGENTLOOP_PROFILE, AGENTLOOP_MAX_TURNS,
AGENTLOOP_APPROVE, AGENTLOOP_SYSTEM, AGENTLOOP_TRANSCRIPT, AGENTLOOP_TOOLS,
AGENTLOOP_WORKSPACE) and the config file (`agentloop config`); the command line wins.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from agentloop.cli.common_args import (
    DEFAULT_URL_EXAMPLE,
    add_connection_options,
    cli_environ,
    connection_overrides,
    env_value,
)
from agentloop.cli.mcp_args import add_mcp_arguments, mcp_configs
from agentloop.config import AgentConfig
from agentloop.context import ContextPolicy
from agentloop.errors import ConfigError

if TYPE_CHECKING:
    from agentloop.chat import ChatOptions

_APPROVE_CHOICES = ("ask", "auto", "deny")
ROOT_WORKSPACE = Path("/var/lib/agentloop/workspace")


TOOLS_HELP = (
    "builtin (default), none, or MODULE:ATTR naming a tool, a list of tools, a ToolRegistry, "
    "or a function returning one of those (env AGENTLOOP_TOOLS)"
)


def add_server_options(parser: argparse.ArgumentParser, *, asks: bool = True) -> None:
    """Options shared by `chat` and `run`: server, model, sampling, tools, transcript.

    Args:
        parser: The sub-command's parser.
        asks: The command can ask the user about a call (`chat`); `run` never asks.
    """
    group = parser.add_argument_group("server and model")
    group.add_argument(
        "--base-url",
        help=f"OpenAI-compatible server, e.g. {DEFAULT_URL_EXAMPLE} "
        "(env AGENTLOOP_BASE_URL; unset: start the embedded llama-server)",
    )
    add_connection_options(group)
    group.add_argument("--model", help="model id (env AGENTLOOP_MODEL; default: the server's)")
    group.add_argument(
        "--profile", help="sampling profile (env AGENTLOOP_PROFILE; default: by model)"
    )
    group.add_argument("--system", help="system prompt (env AGENTLOOP_SYSTEM)")
    group.add_argument(
        "--max-turns",
        type=int,
        help="model replies per question (env AGENTLOOP_MAX_TURNS; default 20)",
    )
    group.add_argument(
        "--context-size",
        type=int,
        help="the server's context window in tokens when it does not report one "
        "(env AGENTLOOP_CONTEXT_SIZE)",
    )
    group.add_argument(
        "--no-compaction",
        action="store_true",
        help="send the conversation as it is, even when it outgrows the context window",
    )
    tools = parser.add_argument_group("tools")
    if asks:
        approve_help = (
            "calls of python/terminal: ask, auto (run) or deny (refuse); env "
            "AGENTLOOP_APPROVE; default: ask on a terminal, deny otherwise"
        )
    else:
        approve_help = (
            "calls of python/terminal: auto (run them) or deny (refuse; the default). "
            "This command never asks: `ask` (env AGENTLOOP_APPROVE) counts as deny"
        )
    tools.add_argument("--approve", choices=_APPROVE_CHOICES, help=approve_help)
    tools.add_argument("--tools", help=TOOLS_HELP)
    tools.add_argument(
        "--workspace",
        type=Path,
        help="directory the built-in tools may read and write (env "
        "AGENTLOOP_WORKSPACE; default ~/.local/share/agentloop/workspace, "
        f"or {ROOT_WORKSPACE} as root)",
    )
    add_mcp_arguments(parser)
    debug = parser.add_argument_group("debugging")
    debug.add_argument(
        "--transcript",
        type=Path,
        help="append raw server traffic to this JSONL file (env AGENTLOOP_TRANSCRIPT)",
    )
    debug.add_argument("--debug", action="store_true", help="tracebacks and debug logs on stderr")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `chat` sub-command."""
    parser = subparsers.add_parser(
        "chat",
        help="interactive chat with tools",
        description="Chat with a model that can call tools. Type /help inside for commands. "
        'Reads plain lines when stdin is not a terminal: echo "2+2?" | agentloop chat',
    )
    add_server_options(parser)
    parser.add_argument("--load", type=Path, help="continue a conversation saved with /save")
    parser.add_argument(
        "--hide-reasoning",
        action="store_true",
        help="fold reasoning to one line (/think on shows it)",
    )
    parser.add_argument(
        "--no-status",
        action="store_true",
        help="no live status line (waiting / thinking / running a tool) while a question runs",
    )
    parser.set_defaults(handler=_handle)


def configure_logging(debug: bool) -> None:
    """Logs go to stderr: warnings only, or everything with --debug."""
    from agentloop.logs import configure

    configure(logging.DEBUG if debug else logging.WARNING)


def config_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> AgentConfig:
    """The server configuration: command line over environment over defaults."""
    return AgentConfig.from_env(
        environ,
        base_url=args.base_url,
        model=args.model,
        profile=args.profile,
        max_turns=args.max_turns,
        **connection_overrides(args),
        context_size=getattr(args, "context_size", None),
        context=ContextPolicy.off() if getattr(args, "no_compaction", False) else None,
    )


def approve_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """--approve or AGENTLOOP_APPROVE, checked."""
    value = env_value(args, "approve", environ)
    if value is not None and value not in _APPROVE_CHOICES:
        raise ConfigError(f"AGENTLOOP_APPROVE must be ask, auto or deny, not {value!r}")
    return value


def workspace_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> Path:
    """--workspace, AGENTLOOP_WORKSPACE, or a dedicated directory under the data dir."""
    from agentloop.chat.state import data_dir

    value = env_value(args, "workspace", environ)
    if value:
        return Path(value).expanduser()
    if os.geteuid() == 0:
        # As root, sandboxed code runs as an unprivileged uid that cannot enter /root.
        return ROOT_WORKSPACE
    return data_dir(environ) / "workspace"


def chat_options(
    args: argparse.Namespace, environ: Mapping[str, str], interactive: bool
) -> ChatOptions:
    """Turn parsed arguments and the environment into `ChatOptions`."""
    from agentloop.chat import ChatOptions, ChatSettings
    from agentloop.chat.state import data_dir, state_dir
    from agentloop.server import EmbeddedOptions

    config = config_from_args(args, environ)
    transcript = env_value(args, "transcript", environ)
    settings = ChatSettings(
        model=config.model,
        profile=config.profile,
        system=env_value(args, "system", environ),
        show_reasoning=not args.hide_reasoning,
    )
    return ChatOptions(
        config=config,
        settings=settings,
        interactive=interactive,
        workspace=workspace_from_args(args, environ),
        history_file=state_dir(environ) / "chat_history",
        save_dir=data_dir(environ) / "chats",
        approve=approve_from_args(args, environ),  # type: ignore[arg-type]
        tools=env_value(args, "tools", environ) or "builtin",
        mcp=tuple(mcp_configs(args)),
        transcript=Path(transcript).expanduser() if transcript else None,
        load=args.load,
        debug=args.debug,
        status=not args.no_status,
        embedded=EmbeddedOptions.from_env(environ),
    )


def _handle(args: argparse.Namespace) -> int:
    from agentloop.chat import run_chat

    configure_logging(args.debug)
    try:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        options = chat_options(args, cli_environ(args), interactive)
    except ConfigError as exc:
        print(f"agentloop chat: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run_chat(options))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
