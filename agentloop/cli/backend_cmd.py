"""`agentloop serve` (the embedded llama-server in the foreground, for other clients) and
`agentloop doctor` (probe a server, one finding per line, each with its fix).

Exit codes: serve 0 after Ctrl-C, 1 when the server dies, 2 when it is not installed or
misconfigured; doctor 0 only when tool calling works, 1 otherwise, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from agentloop.cli.common_args import add_connection_options, cli_environ, connection_overrides
from agentloop.cli.mcp_args import add_mcp_arguments, mcp_configs
from agentloop.errors import AgentloopError, ConfigError

if TYPE_CHECKING:
    from agentloop.config import AgentConfig
    from agentloop.server import EmbeddedOptions

_MODELS = ("0.5b", "1.5b")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `serve` and `doctor` sub-commands."""
    serve = subparsers.add_parser(
        "serve",
        help="run the embedded llama-server in the foreground (Ctrl-C stops it)",
        description="Start the embedded llama-server with a small local model, for agentloop "
        "or any OpenAI-compatible client, until Ctrl-C.",
    )
    _add_embedded_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8001, help="TCP port (default 8001)")
    serve.set_defaults(handler=_serve)

    doctor = subparsers.add_parser(
        "doctor",
        help="check a server: reachable, model, kind, context, tool calls, reasoning",
        description="Probe a server and print one line per finding with the exact fix. "
        "Without --base-url (and AGENTLOOP_BASE_URL) the embedded llama-server is started "
        "and checked. Exit code 0 only when tool calling works.",
    )
    doctor.add_argument("--base-url", help="server to check (env AGENTLOOP_BASE_URL)")
    doctor.add_argument(
        "--model", help="model to probe (env AGENTLOOP_MODEL; default: the server's first)"
    )
    add_connection_options(doctor)
    doctor.add_argument(
        "--max-tokens",
        type=int,
        default=1024,
        help="token budget of each probe reply (default 1024; thinking models may need more)",
    )
    _add_embedded_options(doctor)
    add_mcp_arguments(doctor)  # check MCP servers too
    doctor.set_defaults(handler=_doctor)


def _add_embedded_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("embedded llama-server")
    group.add_argument(
        "--embedded-model",
        choices=_MODELS,
        help="small model (env AGENTLOOP_EMBEDDED_MODEL; default 1.5b)",
    )
    group.add_argument("--ctx-size", type=int, help="context tokens (default 8192)")
    group.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    group.add_argument(
        "--native-template",
        action="store_true",
        help="use the model's own chat template (tool calls then arrive as text)",
    )


def _options(args: argparse.Namespace, environ: Mapping[str, str]) -> EmbeddedOptions:
    from agentloop.server import EmbeddedOptions

    return EmbeddedOptions.from_env(
        environ,
        model=args.embedded_model,
        ctx_size=args.ctx_size,
        threads=args.threads,
        native_template=args.native_template or None,
    )


def _quiet_logs() -> None:
    import logging

    from agentloop.logs import configure

    configure(logging.WARNING)


def _serve(args: argparse.Namespace) -> int:
    _quiet_logs()
    from agentloop.server import LlamaServer, server_settings

    try:
        settings = server_settings(_options(args, cli_environ(args)))
    except ConfigError as exc:
        print(f"agentloop serve: {exc}", file=sys.stderr)
        return 2
    settings = replace(settings, host=args.host, port=args.port)
    server = LlamaServer(settings)
    try:
        server.start()
        print(f"llama-server ready at {server.base_url} (model {settings.alias}); Ctrl-C stops it")
        print(f"  agentloop chat --base-url {server.base_url}", flush=True)
        code = server.wait()
    except KeyboardInterrupt:
        server.stop()
        print("\nllama-server stopped", file=sys.stderr)
        return 0
    except AgentloopError as exc:
        print(f"agentloop serve: {exc}", file=sys.stderr)
        return 1
    finally:
        server.stop()
    print(f"agentloop serve: llama-server exited with code {code}", file=sys.stderr)
    print(server.log_tail(), file=sys.stderr)
    return 1


def _doctor(args: argparse.Namespace) -> int:
    _quiet_logs()
    from agentloop.config import AgentConfig

    try:
        config = AgentConfig.from_env(
            cli_environ(args),
            base_url=args.base_url,
            model=args.model,
            **connection_overrides(args),
        )
        config = config.with_(stream=False)
        return asyncio.run(_doctor_async(config, args))
    except KeyboardInterrupt:
        return 130
    except ConfigError as exc:
        print(f"[fail] embedded backend: {exc}")
        return 2


async def _doctor_async(config: AgentConfig, args: argparse.Namespace) -> int:
    from agentloop.doctor import diagnose, render
    from agentloop.server import ensure_backend

    if not config.base_url:
        print("[info] no --base-url: checking the embedded llama-server", flush=True)
    async with ensure_backend(config, _options(args, cli_environ(args))) as ready:
        report = await diagnose(ready, mcp_configs(args), max_tokens=args.max_tokens)
    print(render(report.findings))
    return report.exit_code
