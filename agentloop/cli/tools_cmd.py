"""`agentloop tools` (list the built-in tools, or those of `--tools MODULE:ATTR`) and
`agentloop tool NAME ARGS` (run one built-in tool)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import uuid
from pathlib import Path

from agentloop.cli.mcp_args import add_mcp_arguments, list_mcp_tools
from agentloop.errors import ConfigError
from sandbox import Sandbox
from tools import ToolContext, ToolRegistry
from tools.builtin import default_tools


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``tools`` and ``tool`` sub-commands."""
    from agentloop.cli.chat_cmd import TOOLS_HELP

    listing = subparsers.add_parser(
        "tools", help="list the tools (built-in, or --tools MODULE:ATTR) and their schemas"
    )
    listing.add_argument("--json", action="store_true", help="print the OpenAI `tools` list")
    listing.add_argument("--tools", help=TOOLS_HELP.replace(" (env AGENTLOOP_TOOLS)", ""))
    add_mcp_arguments(listing)  # with --mcp: list what those servers offer instead
    listing.set_defaults(handler=_list_tools)

    run = subparsers.add_parser("tool", help="run one tool directly and print its result")
    run.add_argument("name", help="tool name, e.g. python or calculate")
    run.add_argument("arguments", nargs="?", default="{}", help="JSON object of arguments")
    run.add_argument(
        "--workspace", type=Path, help="workspace directory (default: a temporary one)"
    )
    run.add_argument(
        "--unsafe",
        action="store_true",
        help="run without isolation if no sandbox is available (warns on every call)",
    )
    run.set_defaults(handler=_run_tool)


def _list_tools(args: argparse.Namespace) -> int:
    if args.mcp or args.mcp_config:
        return list_mcp_tools(args)
    spec = args.tools or "builtin"
    if spec in ("builtin", "none"):
        sandbox = Sandbox.temporary()
        try:
            tools = default_tools(sandbox) if spec == "builtin" else []
            return _print_tools(ToolRegistry(tools), as_json=args.json)
        finally:
            asyncio.run(sandbox.aclose())
    from agentloop.user_tools import load_user_tools

    try:
        registry = ToolRegistry(load_user_tools(spec, option="--tools"))
    except ConfigError as exc:
        print(f"agentloop tools: {exc}", file=sys.stderr)
        return 2
    return _print_tools(registry, as_json=args.json)


def _print_tools(registry: ToolRegistry, *, as_json: bool) -> int:
    try:
        if as_json:
            print(json.dumps(registry.definitions(), indent=2))
            return 0
        for entry in registry.definitions():
            function = entry["function"]
            summary = (function.get("description") or "").splitlines()[:1]
            print(f"{function['name']}: {' '.join(summary)}")
            print(f"  parameters: {json.dumps(function['parameters'])}")
        return 0
    finally:
        registry.close()


def _run_tool(args: argparse.Namespace) -> int:
    try:
        arguments = json.loads(args.arguments)
    except json.JSONDecodeError as exc:
        print(f"agentloop tool: arguments are not valid JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(arguments, dict):
        print("agentloop tool: arguments must be a JSON object", file=sys.stderr)
        return 2
    return asyncio.run(_call(args, arguments))


async def _call(args: argparse.Namespace, arguments: dict[str, object]) -> int:
    if args.workspace is not None:
        sandbox = Sandbox(args.workspace, allow_unsafe=args.unsafe)
    else:
        sandbox = Sandbox.temporary(allow_unsafe=args.unsafe)
    # Running one tool by hand is the user's own request: no approval prompt.
    tools = [dataclasses.replace(t, approval="auto") for t in default_tools(sandbox)]
    registry = ToolRegistry(tools)
    context = ToolContext(run_id=f"cli-{uuid.uuid4().hex[:8]}")
    try:
        if args.name not in registry:
            names = ", ".join(registry.names())
            print(
                f"agentloop tool: unknown tool {args.name!r} (available: {names})", file=sys.stderr
            )
            return 2
        outcome = await registry.call(args.name, arguments, context=context)
    finally:
        await context.aclose()
        registry.close()
        await sandbox.aclose()
    result = {
        "name": outcome.name,
        "ok": outcome.ok,
        "error": outcome.error,
        "content": outcome.content,
        "duration": round(outcome.duration, 4),
    }
    text = json.dumps(result, ensure_ascii=False, indent=2)
    # A lone surrogate (from the arguments) cannot be encoded: print it as its JSON escape.
    print(text.encode("utf-8", "backslashreplace").decode("utf-8"))
    return 0
