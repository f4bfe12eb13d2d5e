"""Options every command that talks to a server shares, and the environment they read.

Kept apart from each command's own options so that `chat`, `run`, `eval` and `doctor`
spell them, and resolve them, the same way.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

from agentloop.profiles import ServerKind

DEFAULT_URL_EXAMPLE = "http://127.0.0.1:8001/v1"
SERVER_KINDS: tuple[ServerKind, ...] = ("llama", "vllm", "openai")


def add_connection_options(group: argparse._ActionsContainer) -> None:
    """--api-key and --server-kind."""
    group.add_argument("--api-key", help="bearer token sent to the server (env AGENTLOOP_API_KEY)")
    group.add_argument(
        "--server-kind",
        choices=SERVER_KINDS,
        help="what the server is, when detection guesses wrong (env AGENTLOOP_SERVER_KIND; "
        "default: detected)",
    )


def connection_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The connection options given on the command line, as `AgentConfig` overrides."""
    return {"api_key": args.api_key, "server_kind": args.server_kind}


def cli_environ(args: argparse.Namespace) -> Mapping[str, str]:
    """The environment with the config file underneath (set by `agentloop.cli.main`)."""
    environ: Mapping[str, str] | None = getattr(args, "environ", None)
    return os.environ if environ is None else environ


def env_value(args: argparse.Namespace, name: str, environ: Mapping[str, str]) -> str | None:
    """The option's value, else AGENTLOOP_<NAME>, else None."""
    value = getattr(args, name, None)
    if value is not None:
        return str(value)
    return environ.get("AGENTLOOP_" + name.upper()) or None
