"""Every shape of tool through the loop (scripted model): plain functions in `Agent`, tool
dicts + functions in `run_agent`, and what is sent is the normalised schema."""

from __future__ import annotations

from typing import Any

from agentloop import Agent, AgentConfig, arun_agent
from agentloop.events import RunWarning
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


async def test_a_refused_schema_leaves_that_tool_out_and_the_run_goes_on() -> None:
    from agentloop.testing import FakeOpenAIServer, FakeReply

    body = {
        "error": {
            "code": 400,
            "message": "Unable to generate parser for this template. Automatic parser "
            "generation failed: JSON schema error at #/properties/g: unsupported $ref "
            "https://example.invalid/g.json, only references into the same document are supported",
        }
    }
    tools = [
        {"type": "function", "function": {"name": "fine", "parameters": {"type": "object"}}},
        {
            "type": "function",
            "function": {
                "name": "remote",
                "parameters": {"type": "object", "properties": {"g": {"type": "strange"}}},
            },
        },
    ]
    schema = tools[1]["function"]["parameters"]
    schema["properties"]["g"] = {"$ref": "https://example.invalid/g.json"}
    replies = [FakeReply(status=400, error_body=body), FakeReply("hello")]
    with FakeOpenAIServer(replies) as server:
        result = await arun_agent(
            "hi",
            tools=tools,
            functions={"fine": lambda: "", "remote": lambda g=None: ""},
            base_url=server.base_url,
            max_turns=1,
        )
        sent = [[t["function"]["name"] for t in r["tools"]] for r in server.requests]
    assert result.stop_reason == "completed" and result.output == "hello"
    assert sent == [["fine", "remote"], ["fine"]], "only the refused tool is left out"
    [warning] = [e for e in result.events if isinstance(e, RunWarning)]
    assert "refused the schema of tool 'remote'" in warning.message
