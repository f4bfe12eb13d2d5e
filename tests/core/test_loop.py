"""Item 3, 6, 7 and 9 through the loop: a scripted in-memory model, no HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentloop import (
    Agent,
    AgentConfig,
    BackendHTTPError,
    BackendUnavailable,
    ConfigError,
    ContextOverflow,
    RunFinished,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
    arun_agent,
    run_agent,
    tool,
)
from agentloop.backend import ModelReply, RawToolCall
from agentloop.profiles import GLM_47_FLASH, QWEN_CODER
from agentloop.testing import ScriptedBackend, reply
from tests.common_tools import add_number
from tests.core.conftest import python


def test_three_rounds_of_tools_then_an_answer() -> None:
    backend = ScriptedBackend(
        [
            reply("", ("add_number", {"a": 1, "b": 2})),
            reply("", ("add_number", {"a": 3, "b": 3})),
            reply("", ("add_number", {"a": 6, "b": 4})),
            reply("The total is 10."),
        ]
    )
    result = run_agent("Add 1, 2, 3 and 4.", tools=[add_number], backend=backend)
    assert result.stop_reason == "completed"
    assert result.output == "The total is 10."
    assert result.turns == 4
    assert [c.output for c in result.tool_calls] == ["3", "6", "10"]
    roles = [m["role"] for m in result.messages]
    assert roles == ["user"] + ["assistant", "tool"] * 3 + ["assistant"]
    # every tool message answers the call before it, by id
    for i, message in enumerate(result.messages):
        if message["role"] == "tool":
            call_ids = [c["id"] for c in result.messages[i - 1]["tool_calls"]]
            assert message["tool_call_id"] in call_ids
    # the model saw each result: request 4 carries all three
    assert [m["content"] for m in backend.requests[3].messages if m["role"] == "tool"] == [
        "3",
        "6",
        "10",
    ]


def test_parallel_calls_get_one_tool_message_each_in_call_order() -> None:
    @tool
    async def slow_echo(text: str, delay: float) -> str:
        """Echo after a delay."""
        await asyncio.sleep(delay)
        return text

    backend = ScriptedBackend(
        [
            reply(
                "",
                ("slow_echo", {"text": "first", "delay": 0.2}),
                ("slow_echo", {"text": "second", "delay": 0.0}),
            ),
            reply("ok"),
        ]
    )
    result = run_agent("go", tools=[slow_echo], backend=backend)
    tool_messages = [m for m in result.messages if m["role"] == "tool"]
    assert [m["content"] for m in tool_messages] == ["first", "second"]
    assert [m["tool_call_id"] for m in tool_messages] == ["call_0", "call_1"]


def test_max_turns() -> None:
    backend = ScriptedBackend(
        [reply("", ("add_number", {"a": 1, "b": 1})), reply("", ("add_number", {"a": 2, "b": 1}))]
    )
    result = run_agent("loop", tools=[add_number], backend=backend, max_turns=2)
    assert result.stop_reason == "max_turns"
    assert result.turns == 2 and result.output == ""


def test_the_same_call_three_times_in_a_row_stops_the_run() -> None:
    backend = ScriptedBackend([reply("", ("python", {"code": "print(1234 + 5678)"}))])
    result = run_agent("1234 + 5678?", tools=[python], backend=backend)
    assert result.stop_reason == "repeated_calls"
    assert result.turns == 3
    assert [c.error for c in result.tool_calls] == [None, None, "refused"], "the third is not run"
    last = result.messages[-1]
    assert last["role"] == "tool" and "2 times in a row" in last["content"]


def test_a_cycle_is_stopped_and_the_model_is_told_it_was_a_cycle() -> None:
    a, b = ("add_number", {"a": 1, "b": 1}), ("add_number", {"a": 2, "b": 2})
    backend = ScriptedBackend([reply("", call) for call in (a, b, a, b, a)])
    result = run_agent("loop", tools=[add_number], backend=backend)
    assert result.stop_reason == "repeated_calls" and result.turns == 5
    last = result.messages[-1]
    assert last["role"] == "tool" and "in a row" not in last["content"]
    assert "2 times in this run, alternating with other calls" in last["content"]
    notes = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert "already made this exact call" in notes[2] and "already made" not in notes[1]


def test_different_arguments_are_not_repeats() -> None:
    backend = ScriptedBackend(
        [reply("", ("add_number", {"a": n, "b": 1})) for n in range(4)] + [reply("done")]
    )
    result = run_agent("count", tools=[add_number], backend=backend)
    assert result.stop_reason == "completed" and len(result.tool_calls) == 4


async def test_cancelling_keeps_the_conversation_and_answers_open_calls() -> None:
    started = asyncio.Event()

    @tool
    async def forever() -> str:
        """Never finishes."""
        started.set()
        await asyncio.sleep(60)
        return "never"

    backend = ScriptedBackend([reply("working on it", ("forever", {}))])
    task = asyncio.create_task(arun_agent("go", tools=[forever], backend=backend))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    result = await task
    assert result.stop_reason == "cancelled"
    assert result.messages[1]["content"] == "working on it"
    assert result.messages[-1] == {
        "role": "tool",
        "tool_call_id": "call_0",
        "content": "Not run: the user cancelled this turn.",
    }


@pytest.mark.parametrize(
    "bad_call",
    [
        RawToolCall("c1", "add_number", '{"a": 1, "b": '),  # invalid JSON
        RawToolCall("c1", "add_number", '{"a": "x", "b": 1}'),  # validation
        RawToolCall("c1", "launch_rockets", "{}"),  # unknown tool
    ],
)
def test_model_misbehaviour_never_raises_and_the_model_is_told(bad_call: RawToolCall) -> None:
    backend = ScriptedBackend(
        [ModelReply(tool_calls=(bad_call,), finish_reason="tool_calls"), reply("sorry")]
    )
    result = run_agent("go", tools=[add_number], backend=backend)
    assert result.stop_reason == "completed"
    assert result.tool_calls[0].error in {"bad_json", "invalid_arguments", "unknown_tool"}
    told = backend.requests[1].messages[-1]
    assert told["role"] == "tool" and told["content"].startswith("Error:")


def test_call_cut_off_by_the_token_limit_is_reported_not_run() -> None:
    ran: list[str] = []

    @tool
    def write(text: str) -> str:
        """Write text."""
        ran.append(text)
        return "written"

    cut = ModelReply(
        truncated_calls=(RawToolCall("c9", "write", '{"text": "a very long'),),
        finish_reason="length",
    )
    backend = ScriptedBackend([cut, reply("I will be brief.")])
    result = run_agent("go", tools=[write], backend=backend)
    assert ran == []
    assert result.tool_calls[0].error == "truncated_call"
    assert "cut off by the token limit" in backend.requests[1].messages[-1]["content"]


def test_backend_http_error_ends_the_run_with_a_reason() -> None:
    error = BackendHTTPError("the server answered 500: parse failure", status=500)
    backend = ScriptedBackend([reply("", ("add_number", {"a": 1, "b": 1})), error])
    result = run_agent("go", tools=[add_number], backend=backend)
    assert result.stop_reason == "backend_error"
    assert result.error is error and "parse failure" in str(result.error)
    assert [m["role"] for m in result.messages] == ["user", "assistant", "tool"]
    finished = result.events[-1]
    assert isinstance(finished, RunFinished) and finished.error is error


def test_unreachable_backend_ends_the_run_with_the_conversation_so_far() -> None:
    down = BackendUnavailable("down", hint="start it")
    backend = ScriptedBackend([reply("", ("add_number", {"a": 1, "b": 1})), down])
    result = run_agent("go", tools=[add_number], backend=backend)
    assert result.stop_reason == "backend_error" and result.error is down
    assert result.tool_calls[0].output == "2"
    assert result.messages[-1]["role"] == "tool"


def test_context_overflow_has_its_own_stop_reason() -> None:
    overflow = ContextOverflow("too long", status=400, hint="raise --ctx-size")
    result = run_agent("go", backend=ScriptedBackend([overflow]))
    assert result.stop_reason == "context_overflow" and result.error is overflow
    assert result.messages == [{"role": "user", "content": "go"}]


def test_misuse_raises_config_error() -> None:
    with pytest.raises(ConfigError):
        run_agent(tools=[add_number], backend=ScriptedBackend([reply("x")]))
    with pytest.raises(ConfigError, match="base_url"):
        run_agent("hi")


def test_reasoning_is_kept_in_the_field_it_came_from() -> None:
    vllm_style = ModelReply(
        reasoning="I should add.",
        reasoning_field="reasoning",
        tool_calls=(RawToolCall("c1", "add_number", '{"a": 2, "b": 2}'),),
        finish_reason="tool_calls",
    )
    backend = ScriptedBackend([vllm_style, reply("4")])
    result = run_agent("2+2", tools=[add_number], backend=backend)
    sent_back = backend.requests[1].messages[1]
    assert sent_back["reasoning"] == "I should add." and "reasoning_content" not in sent_back
    assert result.output == "4"


def test_think_tag_in_content_is_split_off() -> None:
    result = run_agent("hi", backend=ScriptedBackend([reply("Let me think.</think>Hello!")]))
    assert result.output == "Hello!"
    assert result.messages[-1]["reasoning_content"] == "Let me think."


def test_calls_inside_the_reasoning_are_recovered() -> None:
    glm = ModelReply(
        content="",
        reasoning="I need the sum.<tool_call>add_number"
        "<arg_key>a</arg_key><arg_value>20</arg_value>"
        "<arg_key>b</arg_key><arg_value>22</arg_value></tool_call>",
        reasoning_field="reasoning_content",
        finish_reason="stop",
    )
    backend = ScriptedBackend([glm, reply("42")])
    result = run_agent("20+22", tools=[add_number], backend=backend)
    assert result.output == "42"
    assert result.recovered_calls == 1 and result.tool_calls[0].recovered
    assert result.tool_calls[0].arguments == {"a": 20, "b": 22}
    assistant = result.messages[1]
    assert assistant["tool_calls"][0]["function"]["name"] == "add_number"
    assert "<tool_call>" not in assistant["reasoning_content"]


def test_reasoning_without_calls_is_taken_as_the_answer() -> None:
    only_thought = ModelReply(
        content="",
        reasoning="The answer is 5.",
        reasoning_field="reasoning_content",
        finish_reason="stop",
    )
    result = run_agent("?", tools=[add_number], backend=ScriptedBackend([only_thought]))
    assert result.stop_reason == "completed" and result.output == "The answer is 5."


def test_calls_in_content_are_recovered_and_go_into_history_as_structured_calls() -> None:
    fenced = reply('```json\n{"name": "add_number", "arguments": {"a": 1234, "b": 5678}}\n```')
    backend = ScriptedBackend([fenced, reply("6912")])
    result = run_agent("1234+5678", tools=[add_number], backend=backend)
    assert result.output == "6912" and result.recovered_calls == 1
    assert result.messages[1]["content"] == ""
    assert result.messages[1]["tool_calls"][0]["function"]["arguments"] == '{"a": 1234, "b": 5678}'
    assert result.messages[2] == {
        "role": "tool",
        "tool_call_id": result.tool_calls[0].call_id,
        "content": "6912",
    }


def test_recovery_can_be_turned_off() -> None:
    text = '{"name": "add_number", "arguments": {"a": 1, "b": 2}}'
    config = AgentConfig(base_url="http://unused/v1", recover_calls=False)
    result = run_agent(
        "go", tools=[add_number], backend=ScriptedBackend([reply(text)]), config=config
    )
    assert result.output == text and result.tool_calls == []


def test_events_arrive_in_order_to_sync_and_async_handlers() -> None:
    seen_sync: list[str] = []
    seen_async: list[str] = []

    async def async_handler(event: Any) -> None:
        seen_async.append(event.kind)

    for handler in (lambda e: seen_sync.append(e.kind), async_handler):
        backend = ScriptedBackend([reply("", ("add_number", {"a": 1, "b": 1})), reply("two")])
        result = run_agent("1+1", tools=[add_number], backend=backend, on_event=handler)
    assert seen_sync == seen_async
    assert seen_sync[:3] == ["turn_finished", "tool_call_started", "tool_call_finished"]
    assert seen_sync[-1] == "run_finished"
    assert "text_delta" in seen_sync
    kinds = {type(e) for e in result.events}
    assert {TurnFinished, ToolCallStarted, ToolCallFinished, TextDelta, RunFinished} <= kinds
    text = "".join(e.text for e in result.events if isinstance(e, TextDelta))
    assert text == "two"


def test_usage_is_summed_across_turns() -> None:
    backend = ScriptedBackend([reply("", ("add_number", {"a": 1, "b": 1})), reply("two")])
    result = run_agent("1+1", tools=[add_number], backend=backend)
    assert (
        result.usage.prompt_tokens,
        result.usage.completion_tokens,
        result.usage.total_tokens,
    ) == (20, 10, 30)


async def test_an_agent_is_reusable_and_a_shared_context_keeps_tool_state() -> None:
    from tools import ToolContext

    @tool
    def counter(ctx: ToolContext) -> int:
        """Count calls in this session."""
        ctx.state["n"] = int(ctx.state.get("n", 0)) + 1  # type: ignore[call-overload]
        return ctx.state["n"]  # type: ignore[return-value]

    backend = ScriptedBackend(
        [reply("", ("counter", {})), reply("a"), reply("", ("counter", {})), reply("b")]
    )
    context = ToolContext()
    async with Agent(
        config=AgentConfig(base_url="http://unused/v1"), tools=[counter], backend=backend
    ) as agent:
        first = await agent.run("count", context=context)
        second = await agent.run(
            messages=[*first.messages, {"role": "user", "content": "again"}], context=context
        )
    assert [c.output for c in second.tool_calls] == ["2"]
    assert backend.closed is False, "a backend passed in belongs to the caller"


def test_system_prompt_goes_first() -> None:
    backend = ScriptedBackend([reply("hi")])
    run_agent("hello", backend=backend, system="Be brief.")
    assert backend.requests[0].messages[0] == {"role": "system", "content": "Be brief."}


def test_the_profile_gives_the_system_prompt_when_none_is_given() -> None:
    """Qwen and GLM get their own prompt when tools are offered; "" turns it off; a run
    without tools, or a model without a profile prompt, gets none."""

    def first_message(**kwargs: Any) -> dict[str, Any]:
        backend = ScriptedBackend([reply("hi")], model=kwargs.pop("model", "qwen2.5-coder-1.5b"))
        run_agent("hello", backend=backend, **kwargs)
        return dict(backend.requests[0].messages[0])

    default = {"role": "system", "content": QWEN_CODER.system_prompt}
    assert QWEN_CODER.system_prompt and first_message(tools=[add_number]) == default
    assert first_message(tools=[add_number], system="Be brief.")["content"] == "Be brief."
    assert first_message(tools=[add_number], system="")["role"] == "user"
    assert first_message(tools=[])["role"] == "user"
    assert first_message(tools=[], output_type=int)["role"] == "user", "the output tool alone"
    assert first_message(tools=[add_number], model="llama-3")["role"] == "user"
    glm = first_message(tools=[add_number], model="GLM-4.7-Flash")
    assert glm["content"] == GLM_47_FLASH.system_prompt != QWEN_CODER.system_prompt


async def test_agent_says_which_system_prompt_it_uses() -> None:
    backend = ScriptedBackend([], model="qwen2.5-coder")
    config = AgentConfig(base_url="http://unused/v1")
    async with Agent(config=config, tools=[add_number], backend=backend) as agent:
        assert await agent.system_prompt() == QWEN_CODER.system_prompt
    async with Agent(config=config, tools=[add_number], backend=backend, system="") as agent:
        assert await agent.system_prompt() is None


def test_a_cycle_of_calls_is_caught_too() -> None:
    """Small models also loop as A, B, A, B, ...: three of the same reply end the run."""
    a = reply("", ("add_number", {"a": 12, "b": 34}))
    b = reply("", ("python", {"code": "12*34"}))
    backend = ScriptedBackend([a, b, a, b, a, b])
    result = run_agent("12*34+5", tools=[add_number, python], backend=backend)
    assert result.stop_reason == "repeated_calls" and result.turns == 5


def test_a_repeated_call_gets_a_note_telling_the_model_to_use_the_result() -> None:
    backend = ScriptedBackend(
        [
            reply("", ("add_number", {"a": 1, "b": 1})),
            reply("", ("add_number", {"a": 1, "b": 1})),
            reply("2"),
        ]
    )
    result = run_agent("1+1", tools=[add_number], backend=backend)
    tool_messages = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert tool_messages[0] == "2"
    assert tool_messages[1].startswith("2\n(You already made this exact call")
    assert result.output == "2"


def test_config_sampling_applies_under_the_run_s_own() -> None:
    backend = ScriptedBackend([reply("ok")])
    config = AgentConfig(sampling={"temperature": 0.1, "top_k": 5})
    run_agent("x", config=config, backend=backend, sampling={"temperature": 0.3})
    sent = backend.requests[0].sampling
    assert sent["temperature"] == 0.3 and sent["top_k"] == 5


def test_content_reaches_the_logs_only_when_asked(caplog: pytest.LogCaptureFixture) -> None:
    secret = "the launch code is 1234"
    with caplog.at_level("INFO", logger="agentloop"):
        run_agent("x", backend=ScriptedBackend([reply(secret)]))
        assert secret not in caplog.text
        verbose = AgentConfig(log_content=True)
        run_agent("x", config=verbose, backend=ScriptedBackend([reply(secret)]))
    assert secret in caplog.text and "turn.content" in caplog.text


def test_a_reply_that_keeps_repeating_itself_stops_the_run_with_its_own_reason() -> None:
    from agentloop.backend.runaway import RUNAWAY

    looping = ModelReply(
        content="Let me think again. " * 40,
        tool_calls=(RawToolCall("c1", "add_number", '{"a": 1, "b": 1}'),),
        finish_reason=RUNAWAY,
    )
    result = run_agent("x", tools=[add_number], backend=ScriptedBackend([looping]))
    assert result.stop_reason == "runaway_reply" and result.error is None
    [record] = result.tool_calls
    assert record.error == "refused", "nothing in a looping reply is run"
    assert result.messages[-1]["role"] == "tool", "the call is answered: history stays valid"
