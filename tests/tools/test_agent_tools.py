"""Every shape of tool through the loop (scripted model): plain functions in `Agent`, tool
dicts + functions in `run_agent`, and what is sent is the normalised schema."""

from __future__ import annotations

from typing import Any

from agentloop import Agent, AgentConfig, arun_agent
from agentloop.testing import ScriptedBackend, reply


def add_number(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


async def test_agent_takes_a_plain_typed_function() -> None:
    backend = ScriptedBackend([reply("", ("add_number", {"a": 2, "b": "3"})), reply("5")])
    async with Agent(config=AgentConfig(), tools=[add_number], backend=backend) as agent:
        result = await agent.run("2 + 3?")
    assert result.output == "5"
    assert result.tool_calls[0].output == "5" and result.tool_calls[0].error is None


async def test_run_agent_takes_tool_dicts_with_functions_and_sends_the_normalised_schema() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "$defs": {"N": {"type": "string", "format": "decimal"}},
        "properties": {"a": {"$ref": "#/$defs/N"}, "b": {"$ref": "#/$defs/N"}},
        "required": ["a", "b"],
    }
    tools = [{"type": "function", "function": {"name": "add", "parameters": schema}}]
    backend = ScriptedBackend([reply("", ("add", {"a": 1, "b": "2"})), reply("3")])
    result = await arun_agent(
        "1 + 2?",
        tools=tools,
        functions={"add": lambda a, b: float(a) + float(b)},
        backend=backend,
    )
    assert result.tool_calls[0].output == "3", result.tool_calls
    sent = backend.requests[0].tools[0]["function"]["parameters"]
    assert sent["properties"]["a"] == {"type": "string"} and "$defs" not in sent
