"""Typed outcomes as a library user sees them: the event stream and typed final output."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import BaseModel, Field, field_validator

from agentloop import (
    Agent,
    AgentConfig,
    OutputInvalid,
    RunFinished,
    ToolCallStarted,
    arun_agent,
    tool,
)
from agentloop.output import FINAL_TOOL
from agentloop.testing import ScriptedBackend, reply
from tests.common_tools import add_number

CONFIG = AgentConfig(base_url="http://scripted.invalid/v1")


class Sum(BaseModel):
    """The answer to an addition."""

    total: float = Field(description="The sum")
    explanation: str

    @field_validator("total")
    @classmethod
    def positive(cls, value: float) -> float:
        if value < 0:
            raise ValueError("total must not be negative")
        return value


async def test_stream_yields_every_event_and_then_holds_the_result() -> None:
    backend = ScriptedBackend([reply("", ("add_number", {"a": 2, "b": 3})), reply("It is 5.")])
    async with Agent(config=CONFIG, tools=[add_number], backend=backend) as agent:
        stream = agent.stream("2 + 3?")
        kinds = [event.kind async for event in stream]
    assert kinds[-1] == "run_finished"
    assert "tool_call_finished" in kinds and "text_delta" in kinds
    assert stream.result.output == "It is 5." and stream.result.stop_reason == "completed"
    assert [e.kind for e in stream.result.events] == kinds


async def test_leaving_the_stream_early_cancels_the_run_cleanly() -> None:
    @tool
    async def slow() -> str:
        """Takes a minute."""
        await asyncio.sleep(60)
        return "done"

    backend = ScriptedBackend([reply("", ("slow", {})), reply("never")])
    agent = Agent(config=CONFIG, tools=[slow], backend=backend)
    async with agent.stream("go") as stream:
        async for event in stream:
            if isinstance(event, ToolCallStarted):
                break
    assert stream.result.stop_reason == "cancelled"
    assert stream.result.messages[-1]["role"] == "tool", "the open call is answered"
    assert len(backend.requests) == 1


async def test_stream_refuses_its_own_on_event() -> None:
    async with Agent(config=CONFIG, backend=ScriptedBackend([reply("x")])) as agent:
        with pytest.raises(Exception, match="drop on_event"):
            agent.stream("x", on_event=print)


async def test_typed_output_through_the_final_result_tool() -> None:
    final = {"total": 5, "explanation": "2 plus 3"}
    backend = ScriptedBackend(
        [reply("", ("add_number", {"a": 2, "b": 3})), reply("", (FINAL_TOOL, final))]
    )
    result = await arun_agent("2 + 3?", tools=[add_number], backend=backend, output_type=Sum)
    assert result.stop_reason == "completed"
    assert result.final_output == Sum(total=5, explanation="2 plus 3")
    assert json.loads(result.output) == {"total": 5.0, "explanation": "2 plus 3"}
    sent = [t["function"]["name"] for t in backend.requests[0].tools]
    assert sent == ["add_number", FINAL_TOOL]
    schema = backend.requests[0].tools[1]["function"]["parameters"]
    assert set(schema["properties"]) == {"total", "explanation"}
    assert schema["properties"]["total"]["description"] == "The sum"
    assert result.messages[-1]["role"] == "tool", "the final call is answered: history stays valid"


async def test_invalid_output_goes_back_to_the_model_with_the_validation_error() -> None:
    backend = ScriptedBackend(
        [
            reply("", (FINAL_TOOL, {"total": -1, "explanation": "oops"})),
            reply("", (FINAL_TOOL, {"total": 1, "explanation": "fixed"})),
        ]
    )
    result = await arun_agent("x", backend=backend, output_type=Sum)
    assert result.final_output == Sum(total=1, explanation="fixed")
    told = backend.requests[1].messages[-1]
    assert told["role"] == "tool" and "total must not be negative" in told["content"]


async def test_output_that_stays_invalid_ends_the_run_with_its_own_reason() -> None:
    bad = reply("", (FINAL_TOOL, {"total": "many", "explanation": "?"}))
    backend = ScriptedBackend([bad])
    result = await arun_agent("x", backend=backend, output_type=Sum, output_retries=1)
    assert result.stop_reason == "invalid_output"
    assert isinstance(result.error, OutputInvalid) and "Sum" in result.error.message
    assert result.final_output is None and len(backend.requests) == 2
    assert isinstance(result.events[-1], RunFinished)


async def test_a_plain_json_answer_is_accepted_and_prose_is_nudged() -> None:
    backend = ScriptedBackend(
        [reply("The total is five."), reply('```json\n{"total": 5, "explanation": "e"}\n```')]
    )
    result = await arun_agent("x", backend=backend, output_type=Sum)
    assert result.final_output == Sum(total=5, explanation="e")
    nudge = backend.requests[1].messages[-1]
    assert nudge["role"] == "user" and FINAL_TOOL in nudge["content"]


async def test_non_model_output_types_are_wrapped_in_response() -> None:
    backend = ScriptedBackend([reply("", (FINAL_TOOL, {"response": ["a", "b"]}))])
    result = await arun_agent("x", backend=backend, output_type=list[str])
    assert result.final_output == ["a", "b"]


async def test_cancelling_a_run_task_still_gives_a_result() -> None:
    backend = ScriptedBackend([reply("slow")], delay=5)
    task = asyncio.create_task(arun_agent("x", backend=backend))
    await asyncio.sleep(0.05)
    task.cancel()
    result = await task
    assert result.stop_reason == "cancelled" and result.error is None


async def test_an_empty_answer_is_sent_back_and_the_next_reply_counts() -> None:
    """The 1.5B answered `<tools></tools>` to a two-step task: that is no answer."""
    from agentloop.turn import BLANK_NUDGE

    backend = ScriptedBackend(
        [reply("<tools></tools>"), reply("", ("add_number", {"a": 2, "b": 3})), reply("It is 5.")]
    )
    result = await arun_agent("2 + 3?", tools=[add_number], config=CONFIG, backend=backend)
    assert result.stop_reason == "completed" and result.output == "It is 5."
    assert [m["content"] for m in result.messages if m["role"] == "user"][1] == BLANK_NUDGE
    assert [c.name for c in result.tool_calls] == ["add_number"]


async def test_empty_answers_are_sent_back_twice_at_most() -> None:
    backend = ScriptedBackend([reply(" ```json\n``` "), reply(""), reply("</tool_call>")])
    result = await arun_agent("2 + 3?", tools=[add_number], config=CONFIG, backend=backend)
    assert result.stop_reason == "completed" and result.output == "</tool_call>"
    assert len(backend.requests) == 3, "two nudges, then the third empty answer stands"


async def test_a_short_answer_is_not_empty() -> None:
    backend = ScriptedBackend([reply("<tools>5</tools>")])
    result = await arun_agent("2 + 3?", tools=[add_number], config=CONFIG, backend=backend)
    assert result.output == "<tools>5</tools>" and len(backend.requests) == 1


async def test_a_text_call_of_a_tool_that_does_not_exist_is_sent_back_with_the_real_names() -> None:
    """The 0.5B answered `{"name": "today_date", ...}`: neither a call nor an answer."""
    backend = ScriptedBackend(
        [
            reply('{"name": "sum_numbers", "arguments": {"x": 2, "y": 3}}'),
            reply("", ("add_number", {"a": 2, "b": 3})),
            reply("It is 5."),
        ]
    )
    result = await arun_agent("2 + 3?", tools=[add_number], config=CONFIG, backend=backend)
    assert result.stop_reason == "completed" and result.output == "It is 5."
    nudge = backend.requests[1].messages[-1]
    assert nudge["role"] == "user"
    assert "sum_numbers is not one of your tools (add_number)" in nudge["content"]
