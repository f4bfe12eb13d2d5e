"""Typed outcomes against the real embedded llama-server (0.5B): typed output, the event
stream, and a dead server as a result rather than an exception."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from agentloop import Agent, AgentConfig, BackendUnavailable, arun_agent
from tests.common_tools import add_number

pytestmark = pytest.mark.e2e
GREEDY = {"temperature": 0.0, "seed": 42}


class City(BaseModel):
    """Facts about a city."""

    name: str
    country: str


async def test_typed_output_from_the_real_model(base_url: str) -> None:
    result = await arun_agent(
        "What is the capital of France? Answer with the city and its country.",
        base_url=base_url,
        sampling=GREEDY,
        output_type=City,
        max_turns=4,
    )
    assert result.stop_reason == "completed", result.messages
    assert isinstance(result.final_output, City)
    assert "paris" in result.final_output.name.lower()
    assert "france" in result.final_output.country.lower()


async def test_stream_of_a_real_tool_run(base_url: str) -> None:
    async with Agent(config=AgentConfig(base_url=base_url), tools=[add_number]) as agent:
        stream = agent.stream("What is 1234 + 5678?", sampling=GREEDY)
        kinds = [event.kind async for event in stream]
    assert kinds[-1] == "run_finished" and "tool_call_finished" in kinds
    assert stream.result.stop_reason == "completed" and "6912" in stream.result.output


async def test_no_server_is_a_result_not_an_exception() -> None:
    config = AgentConfig(base_url="http://127.0.0.1:9/v1", max_retries=1, retry_max_wait=0.05)
    result = await arun_agent("hi", config=config)
    assert result.stop_reason == "backend_error"
    assert isinstance(result.error, BackendUnavailable) and result.error.hint
    assert result.messages == [{"role": "user", "content": "hi"}]
