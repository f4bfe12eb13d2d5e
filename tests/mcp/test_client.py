"""The MCP client against real servers built with the SDK (stdio and Streamable HTTP)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tools import ToolContext, ToolOutcome, ToolRegistry
from tools.mcp import MCPServer

from .conftest import alive, demo_argv


def stdio_server(**options: object) -> MCPServer:
    argv = demo_argv()
    return MCPServer.stdio(argv[0], *argv[1:], name="demo", approval="auto", **options)  # type: ignore[arg-type]


async def call(registry: ToolRegistry, name: str, args: object) -> ToolOutcome:
    return await registry.call(name, args, context=ToolContext())  # type: ignore[arg-type]


async def test_stdio_tools_are_listed_validated_and_called() -> None:
    async with ToolRegistry([stdio_server()]) as registry:
        assert {"add", "book", "slow", "crash", "picture", "weather"} <= set(registry.names())
        assert (await call(registry, "add", '{"a": "2", "b": 3}')).content == "5"
        wrong = await call(registry, "add", '{"a": "two", "b": 3}')
        assert (
            wrong.error == "invalid_arguments" and "'two' is not of type 'integer'" in wrong.content
        )


async def test_schema_with_ref_anyof_format_is_sent_normalised_and_called() -> None:
    async with ToolRegistry([stdio_server()]) as registry:
        tool = registry.get("book")
        assert tool is not None and "$defs" in tool.definition.parameters
        sent = next(d for d in registry.definitions() if d["function"]["name"] == "book")
        text = str(sent["function"]["parameters"])
        assert "$ref" not in text and "'format'" not in text and "'pattern'" not in text
        booking = {"guest": {"name": "Ann", "email": "a@b.c"}, "day": "2026-12-24", "code": "ABC"}
        outcome = await call(registry, "book", {"booking": booking})
        assert outcome.ok, outcome.content
        assert outcome.content == "booked Ann on 2026-12-24 for 1 night(s)"
        bad = await call(registry, "book", {"booking": {**booking, "code": "abc"}})
        assert bad.error == "invalid_arguments" and "does not match" in bad.content


async def test_content_kinds_become_text() -> None:
    async with ToolRegistry([stdio_server()]) as registry:
        picture = await call(registry, "picture", {})
        assert picture.content.startswith("[image image/png,") and "not shown" in picture.content
        weather = await call(registry, "weather", {"city": "Oslo"})
        assert '"celsius": 21' in weather.content
        failed = await call(registry, "fail", {})
        assert failed.error == "tool_failed" and "failed on purpose" in failed.content


async def test_a_crash_is_a_tool_error_and_the_next_call_restarts_the_server() -> None:
    server = stdio_server()
    async with ToolRegistry([server]) as registry:
        first_pid = int((await call(registry, "whoami", {})).content)
        crashed = await call(registry, "crash", {})
        assert crashed.error == "tool_failed"
        assert "started again on the next call" in crashed.content
        second_pid = int((await call(registry, "whoami", {})).content)
        assert second_pid != first_pid and not alive(first_pid)
    assert not alive(second_pid)


async def test_a_hung_server_times_out_is_killed_and_restarted() -> None:
    server = stdio_server(call_timeout=1.5)
    async with ToolRegistry([server]) as registry:
        first_pid = int((await call(registry, "whoami", {})).content)
        started = time.monotonic()
        hung = await call(registry, "hang", {})
        assert time.monotonic() - started < 10
        assert hung.error == "tool_failed" and "did not answer hang within 1.5 s" in hung.content
        assert (await call(registry, "slow", {"seconds": 0.2})).content == "slept 0.2"
        assert not alive(first_pid)


async def test_slow_calls_within_the_timeout_succeed() -> None:
    async with ToolRegistry([stdio_server(call_timeout=10)]) as registry:
        assert (await call(registry, "slow", {"seconds": 1.5})).content == "slept 1.5"


async def test_closing_stops_the_server_and_its_children_by_pid(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    argv = demo_argv("--child-pid-file", str(pid_file))
    server = MCPServer.stdio(argv[0], *argv[1:], name="demo", approval="auto")
    await server.start()
    assert server.pid is not None and alive(server.pid)
    child = int(pid_file.read_text())
    assert alive(child)
    leader = server.pid
    await server.aclose()
    deadline = time.monotonic() + 5
    while (alive(leader) or alive(child)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(leader) and not alive(child)


async def test_allow_deny_prefix_and_approval() -> None:
    server = stdio_server(allow=("add", "slow", "whoami"), deny=("slow",), prefix=True)
    async with ToolRegistry([server]) as registry:
        assert sorted(registry.names()) == ["demo_add", "demo_whoami"]
        assert (await call(registry, "demo_add", {"a": 1, "b": 1})).content == "2"
    asking = MCPServer.stdio(*demo_argv(), name="demo")
    async with ToolRegistry([asking]) as registry:
        outcome = await call(registry, "add", {"a": 1, "b": 1})
        assert outcome.error == "denied" and "needs the user's approval" in outcome.content


async def test_clashing_names_get_the_server_prefix(http_url: str) -> None:
    async with ToolRegistry(
        [stdio_server(), MCPServer.http(http_url, name="web", approval="auto")]
    ) as registry:
        assert "add" in registry and "web_add" in registry
        assert (await call(registry, "web_add", {"a": 20, "b": 22})).content == "42"


async def test_streamable_http_server(http_url: str) -> None:
    server = MCPServer.http(http_url, approval="auto")
    async with ToolRegistry([server]) as registry:
        assert (await call(registry, "add", {"a": 2, "b": 2})).content == "4"
        assert (await call(registry, "slow", {"seconds": 0.1})).content == "slept 0.1"


async def test_a_server_that_does_not_start_is_reported() -> None:
    server = MCPServer.stdio("/nonexistent/mcp-server", name="ghost", startup_timeout=5)
    with pytest.raises(Exception, match="could not be started"):
        await server.start()
    await server.aclose()


def test_sync_use_and_reuse_after_close() -> None:
    import asyncio

    server = stdio_server()
    registry = ToolRegistry([server])  # starts the server (blocking)
    assert asyncio.run(call(registry, "add", {"a": 1, "b": 2})).content == "3"
    registry.close()
    assert server.pid is None
    # A closed server used again starts again (one run_agent after another).
    again = ToolRegistry([server])
    assert asyncio.run(call(again, "add", {"a": 2, "b": 2})).content == "4"
    again.close()
