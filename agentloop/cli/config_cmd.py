"""`agentloop config`: the effective settings and where each one came from."""

from __future__ import annotations

import argparse
import os
import sys

from agentloop.cli.config_file import config_path, describe
from agentloop.errors import ConfigError

_EXAMPLE = """\
# ~/.config/agentloop/config.toml: any of the keys above, e.g.
base_url = "http://127.0.0.1:8001/v1"
max_turns = 30"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `config` sub-command."""
    parser = subparsers.add_parser(
        "config",
        help="show the effective settings and where each came from",
        description="Settings come from the config file, then the environment "
        "(AGENTLOOP_<KEY>), then command-line flags; each layer overrides the one before.",
    )
    parser.add_argument("--path", action="store_true", help="print the config file's path only")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    path = config_path(os.environ)
    if args.path:
        print(path)
        return 0
    try:
        rows = describe(os.environ)
    except ConfigError as exc:
        print(f"agentloop config: {exc}", file=sys.stderr)
        return 2
    state = "" if path.is_file() else " (none yet)"
    print(f"config file: {path}{state}")
    width = max(len(setting.key) for setting, _, _ in rows)
    for setting, value, source in rows:
        shown = _mask(value) if setting.secret and source != "default" else value
        where = {
            "environment": f"environment {setting.env}",
            "file": "config file",
            "default": "default",
        }[source]
        flag = f"  (flag {setting.flag})" if setting.flag else ""
        print(f"  {setting.key:<{width}}  {shown}  [{where}]{flag}")
    print("flags override the environment, which overrides the file")
    if not path.is_file():
        print(_EXAMPLE)
    return 0


def _mask(secret: str) -> str:
    return secret[:3] + "…" if len(secret) > 6 else "…"
