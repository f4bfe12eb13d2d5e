"""Tools from outside, end to end against the real llama-server: the tutorial's OpenAI tool
dicts + function map through `run_agent`, a schema llama-server rejects as given, and the
published `mcp-server-time` (from PyPI, offline) through `agentloop run --mcp`."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest

from agentloop import arun_agent
from agentloop.cli import main
from tests.common_tools import TUTORIAL_ADD_NUMBER, TUTORIAL_MAP_FN
from tools import rejected_tool

pytestmark = pytest.mark.e2e

GREEDY = {"temperature": 0, "seed": 42}
TUTORIAL_TOOLS: list[dict[str, Any]] = [TUTORIAL_ADD_NUMBER]
MAP_FN = TUTORIAL_MAP_FN


async def test_tutorial_tool_dicts_and_function_map(base_url: str) -> None:
    result = await arun_agent(
        "What is 1234 + 5678? Use the add_number tool.",
        tools=TUTORIAL_TOOLS,
        functions=MAP_FN,
        base_url=base_url,
        sampling=GREEDY,
    )
    assert result.stop_reason == "completed", result.error
    calls = [c for c in result.tool_calls if c.name == "add_number"]
    assert calls and calls[0].error is None, result.tool_calls
    assert calls[0].output == "6912"
    assert "6912" in result.output.replace(",", "")


async def test_a_schema_the_server_rejects_as_given_does_not_take_down_the_others(
    base_url: str,
) -> None:
    # llama-server answers 400 for the whole request when it sees this $ref as is.
    remote = {
        "type": "function",
        "function": {
            "name": "fetch_record",
            "description": "Fetch a record.",
            "parameters": {
                "type": "object",
                "properties": {"record": {"$ref": "https://example.invalid/record.json"}},
            },
        },
    }
    raw = {"messages": [{"role": "user", "content": "hi"}], "tools": [*TUTORIAL_TOOLS, remote]}
    async with httpx2.AsyncClient(timeout=120) as client:
        refused = await client.post(f"{base_url}/chat/completions", json={**raw, "max_tokens": 2})
    assert refused.status_code == 400  # as given, the whole request fails
    assert rejected_tool(refused.text, raw["tools"]) == "fetch_record"
    result = await arun_agent(
        "What is 1234 + 5678? Use the add_number tool.",
        tools=[*TUTORIAL_TOOLS, remote],
        functions={**MAP_FN, "fetch_record": lambda record=None: "none"},
        base_url=base_url,
        sampling=GREEDY,
    )
    assert result.stop_reason == "completed", result.error
    assert any(c.name == "add_number" and c.output == "6912" for c in result.tool_calls)


def _time_server_processes() -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"mcp-server-time" in stat.read_bytes():
                found.append(int(stat.parent.name))
        except OSError:
            continue
    return found


def test_agentloop_run_with_the_published_time_server(
    base_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("mcp_server_time", reason="pip install -e '.[dev]' installs it")
    server = shlex.join(
        [str(Path(sys.executable).with_name("mcp-server-time")), "--local-timezone", "UTC"]
    )
    before = set(_time_server_processes())
    code = main(
        [
            "run",
            "What is the current time in the Europe/Paris timezone? Use the get_current_time tool.",
            "--base-url",
            base_url,
            "--tools",
            "none",
            "--mcp",
            server,
            "--approve",
            "auto",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    calls = [c for c in out["tool_calls"] if c["name"] == "get_current_time"]
    assert calls and calls[0]["error"] is None, out["tool_calls"]
    assert '"timezone": "Europe/Paris"' in calls[0]["output"]
    assert set(_time_server_processes()) <= before  # stopped with the run
