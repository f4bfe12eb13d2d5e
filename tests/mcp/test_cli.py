"""MCP on the command line: `--mcp`, `--mcp-config` (mcpServers JSON), `agentloop tools
--mcp`, and eval tasks naming servers."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

import pytest

from agentloop.cli import main
from agentloop.cli.mcp_args import add_mcp_arguments, mcp_configs
from agentloop.errors import ConfigError
from agentloop.eval.mcp_servers import start_trial_servers, task_configs
from agentloop.eval.tasks import parse_task_line
from tools import ApprovalDecision, ToolContext, ToolRegistry
from tools.mcp import DEFAULT_CALL_TIMEOUT, DEFAULT_STARTUP_TIMEOUT

from .conftest import alive, demo_argv

DEMO = shlex.join(demo_argv())


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_mcp_arguments(parser)
    return parser.parse_args(list(argv))


def test_specs_become_stdio_and_http_configs() -> None:
    stdio, http = mcp_configs(
        parse(
            "--mcp", "uvx mcp-server-time --local-timezone UTC", "--mcp", "http://127.0.0.1:9/mcp"
        )
    )
    assert (stdio.name, stdio.command, stdio.args) == (
        "time",
        "uvx",
        ("mcp-server-time", "--local-timezone", "UTC"),
    )
    assert stdio.approval == "ask"
    assert stdio.call_timeout == DEFAULT_CALL_TIMEOUT >= 60
    assert stdio.startup_timeout == DEFAULT_STARTUP_TIMEOUT >= 30
    assert http.url == "http://127.0.0.1:9/mcp" and http.command is None


def test_timeouts_and_allow_deny_apply_to_every_server() -> None:
    (config,) = mcp_configs(
        parse("--mcp", "srv", "--mcp-timeout", "7", "--mcp-allow", "a,b", "--mcp-deny", "b")
    )
    assert config.call_timeout == 7 and config.allow == ("a", "b") and config.deny == ("b",)
    assert config.wants("a") and not config.wants("b") and not config.wants("c")


def test_mcp_servers_json_is_read(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    document = {
        "mcpServers": {
            "time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
            "web": {"url": "https://example.invalid/mcp", "headers": {"Authorization": "x"}},
            "off": {"command": "nothing", "disabled": True},
            "slow": {"command": "srv", "timeout": 600, "alwaysAllow": ["go"]},
        }
    }
    path.write_text(json.dumps(document))
    time, web, slow = mcp_configs(parse("--mcp-config", str(path)))
    assert time.env == {"TZ": "UTC"} and time.args == ("mcp-server-time",)
    assert web.url == "https://example.invalid/mcp" and web.headers == {"Authorization": "x"}
    assert slow.call_timeout == 600 and slow.allow == ("go",)


def test_bad_config_files_are_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text('{"servers": {}}')
    with pytest.raises(ConfigError, match='needs an "mcpServers" object'):
        mcp_configs(parse("--mcp-config", str(path)))
    with pytest.raises(ConfigError, match="cannot read"):
        mcp_configs(parse("--mcp-config", str(tmp_path / "missing.json")))


def test_same_named_servers_get_numbered() -> None:
    first, second = mcp_configs(parse("--mcp", "srv --a", "--mcp", "srv --b"))
    assert (first.name, second.name) == ("srv", "srv2")


def test_tools_command_lists_what_a_server_offers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "--mcp", DEMO, "--mcp-allow", "add,book"]) == 0
    out = capsys.readouterr().out
    assert "add: Add two integers." in out and "book: Book a room" in out
    assert "slow" not in out
    assert main(["tools", "--json", "--mcp", DEMO]) == 0
    listed = json.loads(capsys.readouterr().out)
    book = next(t for t in listed if t["function"]["name"] == "book")
    assert "$ref" not in json.dumps(book["function"]["parameters"])


def test_tools_command_reports_a_server_that_does_not_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["tools", "--mcp", "/nonexistent/server", "--mcp-startup-timeout", "5"]) == 2
    assert "could not be started" in capsys.readouterr().err


def test_eval_tasks_name_servers_and_each_trial_gets_its_own() -> None:
    line = json.dumps(
        {
            "id": "t",
            "category": "mcp",
            "prompt": "add",
            "tools": [],
            "mcp": [DEMO, {"name": "again", "command": demo_argv()[0], "args": demo_argv()[1:]}],
            "checks": [{"type": "answer_number", "value": 3}],
        }
    )
    task = parse_task_line(line, path="t.jsonl", line=1)
    configs = task_configs(task.mcp)
    assert [c.name for c in configs] == ["demo_server", "again"]

    async def approve_all(request: object) -> ApprovalDecision:
        return "yes"

    async def trial() -> tuple[list[str], int]:
        tools, stop = await start_trial_servers(configs, taken={"whoami"})
        try:
            registry = ToolRegistry(tools)
            outcome = await registry.call(
                "demo_server_whoami", {}, context=ToolContext(), approver=approve_all
            )
            return registry.names(), int(outcome.content)
        finally:
            await stop()

    import asyncio

    names, pid = asyncio.run(trial())
    assert "add" in names and "again_add" in names and "demo_server_whoami" in names
    assert not alive(pid)


async def test_builtin_provider_starts_the_task_servers_per_trial(tmp_path: Path) -> None:
    from agentloop.eval.toolsets import BuiltinTools

    line = json.dumps(
        {
            "id": "t",
            "category": "mcp",
            "prompt": "p",
            "tools": ["add_number"],
            "mcp": [DEMO],
            "checks": [{"type": "answer_number", "value": 1}],
        }
    )
    task = parse_task_line(line, path="t.jsonl", line=1)
    provider = BuiltinTools(mcp=mcp_configs(parse("--mcp", DEMO, "--mcp-allow", "whoami")))
    first = await provider(task, tmp_path / "one")
    second = await provider(task, tmp_path / "two")
    try:
        names = [t.name for t in first.tools]
        assert names[0] == "add_number" and "whoami" in names and "add" in names
        whoami = {t.name: t for t in first.tools}["whoami"]
        pids = {int(await whoami.function()), int(await whoami.function())}
        other = {t.name: t for t in second.tools}["whoami"]
        assert int(await other.function()) not in pids  # each trial, its own processes
    finally:
        await first.aclose()
        await second.aclose()
    assert not any(alive(pid) for pid in pids)
