"""`agentloop run "prompt"`: one run, no questions asked, the answer on stdout.

Exit codes: 0 answered; 1 the server failed; 2 bad usage or configuration; 3 the run
stopped without an answer (turn limit, repeated calls); 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentloop.cli.chat_cmd import (
    add_server_options,
    approve_from_args,
    config_from_args,
    configure_logging,
    workspace_from_args,
)
from agentloop.cli.common_args import cli_environ, env_value
from agentloop.cli.mcp_args import attach_mcp
from agentloop.errors import AgentloopError, ConfigError

if TYPE_CHECKING:
    from agentloop.config import AgentConfig
    from agentloop.result import RunResult
    from tools import ApprovalDecision, ApprovalRequest, ToolRegistry


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `run` sub-command."""
    parser = subparsers.add_parser(
        "run",
        help="one run, answer on stdout (for scripts)",
        description="Ask once and print the answer. Tools that need approval are refused "
        "unless --approve auto.",
    )
    parser.add_argument("prompt", help='the question ("-" reads it from stdin)')
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the whole result as JSON (output, stop_reason, messages, "
        "tool_calls, usage, turns, model, duration, error)",
    )
    add_server_options(parser, asks=False)
    parser.set_defaults(handler=_handle)


def result_to_json(result: RunResult) -> dict[str, Any]:
    """The result as plain JSON values (events left out: they repeat the rest)."""
    return {
        "output": result.output,
        "stop_reason": result.stop_reason,
        "messages": result.messages,
        "tool_calls": [asdict(call) for call in result.tool_calls],
        "usage": asdict(result.usage),
        "turns": result.turns,
        "model": result.model,
        "duration": round(result.duration, 3),
        "error": error_to_json(result.error),
        "reasoning": result.reasoning,
        "recovered_calls": result.recovered_calls,
    }


def error_to_json(error: AgentloopError | None) -> dict[str, str] | None:
    """A run's typed error as JSON: its type, message and hint."""
    if error is None:
        return None
    return {"type": type(error).__name__, "message": error.message, "hint": error.hint}


def exit_code(result: RunResult) -> int:
    """0 answered, 1 server error, 3 stopped early without an answer."""
    if result.stop_reason == "completed":
        return 0
    if result.stop_reason in ("backend_error", "context_overflow"):
        return 1
    if result.stop_reason == "cancelled":
        return 130
    return 3


def _handle(args: argparse.Namespace) -> int:
    configure_logging(args.debug)
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    if not prompt.strip():
        print("agentloop run: the prompt is empty", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(args, prompt, cli_environ(args)))
    except KeyboardInterrupt:
        return 130


async def _run(args: argparse.Namespace, prompt: str, environ: Mapping[str, str]) -> int:
    from agentloop.chat.errors import describe_error
    from agentloop.chat.toolset import load_toolset

    try:
        config = config_from_args(args, environ)
        approve = approve_from_args(args, environ) or "deny"
        toolset = load_toolset(
            env_value(args, "tools", environ) or "builtin", workspace_from_args(args, environ)
        )
    except ConfigError as exc:
        print(f"agentloop run: {exc}", file=sys.stderr)
        return 2
    try:
        await attach_mcp(args, toolset.registry)  # stopped by toolset.aclose()
        result = await _ask(config, toolset.registry, prompt, approve, args, environ)
    except AgentloopError as exc:  # misuse, or the embedded server could not start
        print(f"agentloop run: {describe_error(exc, config.base_url)}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    finally:
        await toolset.aclose()
    if args.json:
        print(json.dumps(result_to_json(result), ensure_ascii=False))
    else:
        print(result.output)
    if result.error is not None:
        print(f"agentloop run: {describe_error(result.error, config.base_url)}", file=sys.stderr)
    elif result.stop_reason != "completed":
        print(f"agentloop run: stopped without an answer: {result.stop_reason}", file=sys.stderr)
    return exit_code(result)


async def _ask(
    config: AgentConfig,
    registry: ToolRegistry,
    prompt: str,
    approve: str,
    args: argparse.Namespace,
    environ: Mapping[str, str],
) -> RunResult:
    from agentloop.loop import Agent
    from agentloop.server import EmbeddedOptions, ensure_backend

    async def approver(request: ApprovalRequest) -> ApprovalDecision:
        return "yes" if approve == "auto" else "no"  # nobody to ask: "ask" refuses

    transcript = env_value(args, "transcript", environ)
    async with ensure_backend(config, EmbeddedOptions.from_env(environ)) as ready:
        system = env_value(args, "system", environ)
        async with Agent(config=ready, tools=registry, system=system) as agent:
            result = await agent.run(
                prompt,
                approver=approver,
                transcript=Path(transcript).expanduser() if transcript else None,
            )
    return result
