"""The `agentloop` command line.

Each sub-command lives in its own module and exposes ``register(subparsers)``, which adds
its parser and sets ``handler`` (a callable taking the parsed namespace and returning an
exit code). This module only wires them together and folds the user's config file under
the environment (``args.environ``, see `config_file`); environment variables are read here
and in the sub-command modules, never deeper in the library.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

# Sub-command modules, in the order `agentloop --help` lists them.
_COMMAND_MODULES = (
    "agentloop.cli.chat_cmd",
    "agentloop.cli.run_cmd",
    "agentloop.cli.eval_cmd",
    "agentloop.cli.tools_cmd",
    "agentloop.cli.backend_cmd",
    "agentloop.cli.config_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available sub-command."""
    parser = argparse.ArgumentParser(
        prog="agentloop",
        description="Tool-calling agent loop for local OpenAI-compatible model servers.",
    )
    from agentloop import __version__

    parser.add_argument("--version", action="version", version=f"agentloop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    from agentloop.cli.config_file import effective_environ
    from agentloop.errors import ConfigError

    try:
        args.environ = effective_environ(os.environ)
    except ConfigError as exc:
        print(f"agentloop: {exc}", file=sys.stderr)
        return 2
    code: int = handler(args)
    return code


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
