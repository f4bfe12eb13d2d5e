"""Item 5, 6 and 8 on the wire: respx over recordings of a real llama-server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import httpx2
import pytest

from agentloop import (
    AgentConfig,
    BackendHTTPError,
    BackendUnavailable,
    ContextOverflow,
    run_agent,
)
from agentloop.backend import ChatRequest, OpenAIBackend
from agentloop.events import PromptProgress
from agentloop.profiles import REASONING_MODEL_SYSTEM_PROMPT
from tests.common_tools import add_number
from tests.core.conftest import (
    BASE,
    MODELS,
    json_response,
    python,
    recording,
    sse_from_chunks,
    sse_response,
)

Q05 = "qwen2.5-coder-0.5b"
Q15 = "qwen2.5-coder-1.5b"


def bodies(route: Any) -> list[dict[str, Any]]:
    return [json.loads(call.request.content) for call in route.calls]


def test_model_id_is_discovered_from_models(llama: Any, config: AgentConfig) -> None:
    route = llama.post(f"{BASE}/chat/completions").mock(
        return_value=json_response(recording(Q05, "a_plain_chat.response.json"))
    )
    result = run_agent("Say hello", base_url=BASE, config=config, stream=False)
    assert result.output == "Hello, world!" and result.stop_reason == "completed"
    assert bodies(route)[0]["model"] == "qwen2.5-coder-0.5b"
    assert result.usage.prompt_tokens == 25


def test_recorded_two_round_loop(llama: Any, config: AgentConfig) -> None:
    route = llama.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            json_response(recording(Q15, "d_loop_round1.response.json")),
            json_response(recording(Q15, "d_loop_round2.response.json")),
        ]
    )
    result = run_agent("What is 1234 + 5678?", tools=[add_number], config=config, stream=False)
    assert result.output == "6912"
    sent = bodies(route)
    assert sent[0]["parallel_tool_calls"] is True
    assert sent[0]["tools"][0]["function"]["name"] == "add_number"
    tool_message = sent[1]["messages"][-1]
    call = sent[1]["messages"][-2]["tool_calls"][0]
    assert tool_message == {"role": "tool", "tool_call_id": call["id"], "content": "6912"}
    assert result.usage.total_tokens > 0


@pytest.mark.parametrize("folder", [Q05, Q15])
def test_recorded_streamed_call_is_accumulated(
    llama: Any, config: AgentConfig, folder: str
) -> None:
    llama.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            sse_response(recording(folder, "c_stream_tools_auto.sse")),
            sse_response(recording(folder, "c_stream_plain.sse")),
        ]
    )
    result = run_agent("1234+5678", tools=[add_number], config=config)
    assert result.tool_calls[0].name == "add_number"
    assert result.tool_calls[0].arguments == {"a": 1234, "b": 5678}
    assert result.tool_calls[0].output == "6912"
    assert not result.tool_calls[0].recovered


def test_recorded_parallel_stream(llama: Any, config: AgentConfig) -> None:
    llama.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            sse_response(recording(Q15, "e_parallel_stream.sse")),
            sse_response(recording(Q15, "c_stream_plain.sse")),
        ]
    )
    result = run_agent("2+3 and 10+20", tools=[add_number], config=config)
    assert [(c.arguments, c.output) for c in result.tool_calls] == [
        ({"a": 2, "b": 3}, "5"),
        ({"a": 10, "b": 20}, "30"),
    ]


@pytest.mark.parametrize(
    "variant", ["llama-cpp-python-server-gguf", "llama-cpp-python-server-chatml-function-calling"]
)
def test_stream_that_repeats_id_and_name_in_every_chunk(
    llama: Any, config: AgentConfig, variant: str
) -> None:
    llama.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            sse_response(recording(variant, "stream_named.sse")),
            sse_response(recording(Q05, "c_stream_plain.sse")),
        ]
    )
    result = run_agent("1234+5678", tools=[add_number], config=config)
    assert result.tool_calls[0].arguments == {"a": 1234, "b": 5678}
    assert result.tool_calls[0].call_id.startswith("call__0_add_number")


def test_recorded_native_template_call_in_content_is_recovered(
    llama: Any, config: AgentConfig
) -> None:
    llama.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            json_response(recording(f"{Q05}-native-template", "b_tools_python.response.json")),
            json_response(recording(Q15, "d_loop_round2.response.json")),
        ]
    )
    result = run_agent("squares", tools=[add_number, python], config=config, stream=False)
    assert result.recovered_calls == 1
    assert result.tool_calls[0].arguments == {"code": "for i in range(1, 6): print(i**2)"}


def test_recorded_context_overflow_is_reported_clearly(llama: Any, config: AgentConfig) -> None:
    route = llama.post(f"{BASE}/chat/completions").mock(
        return_value=json_response(recording(Q05, "g_error_ctx_overflow.response.json"), status=400)
    )
    result = run_agent("a very long prompt", config=config, stream=False)
    assert result.stop_reason == "context_overflow"
    assert isinstance(result.error, ContextOverflow)
    assert "no longer fits the model's context" in result.error.message
    assert "4626 tokens" in result.error.message and "--ctx-size" in result.error.hint
    assert result.messages[-1] == {"role": "user", "content": "a very long prompt"}
    assert route.call_count == 1, "a 400 is not retried"


async def test_context_overflow_is_a_typed_error(llama: Any, config: AgentConfig) -> None:
    llama.post(f"{BASE}/chat/completions").mock(
        return_value=json_response(recording(Q05, "g_error_ctx_overflow.response.json"), status=400)
    )
    backend = OpenAIBackend(config)
    with pytest.raises(ContextOverflow) as info:
        await backend.complete(
            ChatRequest(messages=[{"role": "user", "content": "x"}], stream=False)
        )
    assert info.value.status == 400
    await backend.aclose()


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_retryable_statuses_are_retried(llama: Any, config: AgentConfig, status: int) -> None:
    route = llama.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            json_response({"error": {"message": "busy"}}, status=status),
            json_response(recording(Q05, "a_plain_chat.response.json")),
        ]
    )
    result = run_agent("hi", config=config, stream=False)
    assert result.output == "Hello, world!" and route.call_count == 2
    assert [e.kind for e in result.events].count("backend_retry") == 1


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_other_client_errors_are_not_retried(llama: Any, config: AgentConfig, status: int) -> None:
    route = llama.post(f"{BASE}/chat/completions").mock(
        return_value=json_response({"error": {"message": "nope"}}, status=status)
    )
    result = run_agent("hi", config=config, stream=False)
    assert result.stop_reason == "backend_error" and route.call_count == 1
    assert isinstance(result.error, BackendHTTPError) and result.error.status == status
    assert f"answered {status}: nope" in str(result.error)


def test_retry_after_is_honoured(llama: Any, config: AgentConfig) -> None:
    llama.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            json_response(
                {"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "0.3"}
            ),
            json_response(recording(Q05, "a_plain_chat.response.json")),
        ]
    )
    result = run_agent("hi", config=config, stream=False)
    waits = [e.wait for e in result.events if e.kind == "backend_retry"]  # type: ignore[union-attr]
    assert result.output == "Hello, world!" and waits and waits[0] >= 0.3


def test_connection_dropped_before_a_response_is_retried_at_once(
    llama: Any, config: AgentConfig
) -> None:
    stale = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    route = llama.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            stale,
            sse_response(recording(Q05, "c_stream_plain.sse")),
        ]
    )
    result = run_agent("count", config=config)
    assert result.output == "1, 2, 3, 4, 5" and route.call_count == 2
    retry = next(e for e in result.events if e.kind == "backend_retry")
    assert retry.wait == 0.0  # type: ignore[union-attr]


def test_unreachable_after_retries_ends_the_run(httpx2_mock: Any, config: AgentConfig) -> None:
    httpx2_mock.get(f"{BASE}/models").mock(side_effect=httpx.ConnectError("refused"))
    result = run_agent("hi", config=config)
    assert result.stop_reason == "backend_error"
    assert isinstance(result.error, BackendUnavailable)
    assert "cannot reach the model server" in result.error.message and result.error.hint
    assert result.messages == [{"role": "user", "content": "hi"}]
    assert httpx2_mock.routes[0].call_count == config.max_retries + 1


def test_stream_delta_quirks(llama: Any, config: AgentConfig) -> None:
    """id only in the first delta, the name late, arguments whole, a missing index."""
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": None}}]},
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "A1",
                                "type": "function",
                                "function": {"arguments": '{"a": '},
                            }
                        ]
                    },
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"name": "add_number"}}]},
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [{"index": 0, "function": {"arguments": '"5", "b": 6}'}}]
                    },
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "id": "B2",
                                "function": {"name": "add_number", "arguments": '{"a": 1, "b": 1}'},
                            }
                        ]
                    },
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}},
    ]
    llama.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            sse_from_chunks(chunks),
            sse_response(recording(Q05, "c_stream_plain.sse")),
        ]
    )
    result = run_agent("go", tools=[add_number], config=config)
    assert [(c.call_id, c.output) for c in result.tool_calls] == [("A1", "11"), ("B2", "2")]
    assert result.usage.prompt_tokens >= 7


def test_call_cut_off_by_length_mid_stream_is_not_run(llama: Any, config: AgentConfig) -> None:
    chunks = [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "X",
                                "function": {"name": "add_number", "arguments": '{"a": 12'},
                            }
                        ]
                    },
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]},
    ]
    route = llama.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            sse_from_chunks(chunks),
            sse_response(recording(Q05, "c_stream_plain.sse")),
        ]
    )
    result = run_agent("go", tools=[add_number], config=config)
    assert result.tool_calls[0].error == "truncated_call"
    assert "cut off by the token limit" in bodies(route)[1]["messages"][-1]["content"]


def test_vllm_reasoning_field_is_sent_back_as_it_came(httpx2_mock: Any) -> None:
    models = {"data": [{"id": "unsloth/GLM-4.7-Flash", "owned_by": "vllm", "max_model_len": 16384}]}
    httpx2_mock.get(f"{BASE}/models").mock(return_value=json_response(models))
    chunks = [
        {"choices": [{"index": 0, "delta": {"reasoning": "Need "}}]},
        {"choices": [{"index": 0, "delta": {"reasoning": "a sum."}}]},
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "c",
                                "type": "function",
                                "function": {"name": "add_number", "arguments": '{"a": 1, "b": 2}'},
                            }
                        ]
                    },
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    route = httpx2_mock.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            sse_from_chunks(chunks),
            sse_from_chunks(
                [{"choices": [{"index": 0, "delta": {"content": "3"}, "finish_reason": "stop"}]}]
            ),
        ]
    )
    result = run_agent("1+2", tools=[add_number], base_url=BASE)
    sent = bodies(route)
    # the GLM profile's own system prompt goes first (no system prompt was given)
    assert sent[0]["messages"][0] == {"role": "system", "content": REASONING_MODEL_SYSTEM_PROMPT}
    assert sent[1]["messages"][2]["reasoning"] == "Need a sum."
    # GLM profile chosen by model id; vLLM names; tool-loop sampling on the second turn
    assert sent[0]["temperature"] == 1.0 and sent[0]["top_p"] == 0.95
    assert sent[0]["min_p"] == 0.01 and sent[0]["repetition_penalty"] == 1.0
    assert sent[1]["temperature"] == 0.7 and sent[1]["top_p"] == 1.0
    assert "".join(e.text for e in result.events if e.kind == "reasoning_delta") == "Need a sum."  # type: ignore[union-attr]


def test_llama_server_gets_its_own_field_names_and_template_kwargs(llama: Any) -> None:
    llama.get("http://llama.test/props").mock(
        return_value=json_response({"default_generation_settings": {"n_ctx": 4096}})
    )
    route = llama.post(f"{BASE}/chat/completions").mock(
        return_value=json_response(recording(Q05, "a_plain_chat.response.json"))
    )
    config = AgentConfig(base_url=BASE, chat_template_kwargs={"enable_thinking": False})
    run_agent(
        "hi", config=config, profile="glm-4.7-flash", stream=False, sampling={"temperature": 0.2}
    )
    body = bodies(route)[0]
    assert body["repeat_penalty"] == 1.0 and "repetition_penalty" not in body
    assert body["temperature"] == 0.2 and body["min_p"] == 0.01
    assert body["chat_template_kwargs"] == {"enable_thinking": False}


async def test_server_kind_detection(httpx2_mock: Any) -> None:
    httpx2_mock.get(f"{BASE}/models").mock(return_value=json_response(MODELS))
    props = httpx2_mock.get("http://llama.test/props")
    props.mock(return_value=json_response({"default_generation_settings": {"n_ctx": 8192}}))
    backend = OpenAIBackend(AgentConfig(base_url=BASE))
    assert await backend.server_kind() == "llama"
    assert await backend.context_size() == 8192
    props.mock(return_value=json_response({"error": "not found"}, status=404))
    other = OpenAIBackend(AgentConfig(base_url=BASE, max_retries=0))
    assert await other.server_kind() == "openai"


async def test_the_http_client_is_injected(httpx2_mock: Any) -> None:
    seen: list[str] = []

    async def hook(request: httpx2.Request) -> None:
        seen.append(str(request.url))

    httpx2_mock.get(f"{BASE}/models").mock(return_value=json_response(MODELS))
    client = httpx2.AsyncClient(event_hooks={"request": [hook]})
    backend = OpenAIBackend(AgentConfig(base_url=BASE), http_client=client)
    assert await backend.model_id() == "qwen2.5-coder-0.5b"
    await backend.aclose()
    assert seen == [f"{BASE}/models"] and not client.is_closed, (
        "an injected client belongs to the caller"
    )
    await client.aclose()


def test_parser_500_quoting_the_output_is_rescued_into_a_call(
    llama: Any, config: AgentConfig
) -> None:
    quoted = (
        "Failed to parse input at pos 0: <tool_call>\n"
        '{"name": "add_number", "arguments": {"a": 40, "b": 2}}\n</tool_call> trailing junk'
    )
    route = llama.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            json_response(
                {"error": {"code": 500, "message": quoted, "type": "server_error"}}, status=500
            ),
            json_response(recording(Q15, "d_loop_round2.response.json")),
        ]
    )
    result = run_agent("40+2", tools=[add_number], config=config, stream=False)
    assert route.call_count == 2, "a parser rejection is not retried blindly"
    assert result.tool_calls[0].output == "42" and result.tool_calls[0].recovered
    assert result.stop_reason == "completed"


def test_parser_500_without_the_output_nudges_the_model(llama: Any, config: AgentConfig) -> None:
    message = "The model produced output that does not match the expected Hermes 2 Pro format"
    route = llama.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            json_response(
                {"error": {"code": 500, "message": message, "type": "server_error"}}, status=500
            ),
            json_response(recording(Q05, "a_plain_chat.response.json")),
        ]
    )
    result = run_agent("hello", tools=[add_number], config=config, stream=False)
    assert result.output == "Hello, world!" and route.call_count == 2
    nudge = bodies(route)[1]["messages"][-1]
    assert nudge["role"] == "user" and "could not read your last reply" in nudge["content"]


def test_invalid_json_arguments_never_reach_the_servers_history(
    llama: Any, config: AgentConfig
) -> None:
    """llama-server answers 500 to every later request whose history holds invalid JSON."""
    broken = {
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "a",
                            "type": "function",
                            "function": {"name": "add_number", "arguments": "{'a': 1, 'b': 2}"},
                        },
                        {
                            "id": "b",
                            "type": "function",
                            "function": {"name": "add_number", "arguments": '{"a": 1,'},
                        },
                    ],
                },
            }
        ],
    }
    route = llama.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            json_response(broken),
            json_response(recording(Q05, "a_plain_chat.response.json")),
        ]
    )
    result = run_agent("go", tools=[add_number], config=config, stream=False)
    sent = bodies(route)[1]["messages"][2]["tool_calls"]
    assert [json.loads(c["function"]["arguments"]) for c in sent] == [{"a": 1, "b": 2}, {}]
    assert [c.raw_arguments for c in result.tool_calls] == ["{'a': 1, 'b': 2}", '{"a": 1,']
    assert [c.error for c in result.tool_calls] == [None, "bad_json"]


def test_a_call_whose_name_never_arrives_is_reported_to_the_model(
    llama: Any, config: AgentConfig
) -> None:
    chunks = [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 1}'}}]},
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    route = llama.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            sse_from_chunks(chunks),
            sse_response(recording(Q05, "c_stream_plain.sse")),
        ]
    )
    result = run_agent("go", tools=[add_number], config=config)
    assert result.tool_calls[0].error == "unknown_tool"
    told = bodies(route)[1]["messages"][-1]
    assert (
        told["role"] == "tool"
        and told["tool_call_id"]
        and "Available tools: add_number" in told["content"]
    )


def test_call_markup_in_streamed_content_is_not_shown_but_is_recovered(
    llama: Any, config: AgentConfig
) -> None:
    pieces = [
        "Let me add.",
        "<tool",
        "_call>add_number<arg_key>a</arg_key>",
        "<arg_value>2</arg_value>",
        "<arg_key>b</arg_key><arg_value>3</arg_value></tool_call>",
    ]
    chunks = [{"choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    llama.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            sse_from_chunks(chunks),
            sse_response(recording(Q05, "c_stream_plain.sse")),
        ]
    )
    result = run_agent("2+3", tools=[add_number], config=config)
    first_turn_text = "".join(
        e.text for e in result.events if e.kind == "text_delta" and e.turn == 1
    )  # type: ignore[union-attr]
    assert first_turn_text == "Let me add."
    assert result.tool_calls[0].recovered and result.tool_calls[0].output == "5"
    assert result.messages[2]["content"] == "Let me add."


async def test_concurrent_first_runs_discover_the_server_once(httpx2_mock: Any) -> None:
    from agentloop import Agent

    models = httpx2_mock.get(f"{BASE}/models").mock(return_value=json_response(MODELS))
    props = httpx2_mock.get("http://llama.test/props").mock(
        return_value=json_response({"default_generation_settings": {"n_ctx": 4096}})
    )
    httpx2_mock.post(f"{BASE}/chat/completions").mock(
        return_value=json_response(recording(Q05, "a_plain_chat.response.json"))
    )
    async with Agent(config=AgentConfig(base_url=BASE, stream=False)) as agent:
        results = await asyncio.gather(*(agent.run("hi") for _ in range(8)))
    assert {r.output for r in results} == {"Hello, world!"}
    assert models.call_count == 1 and props.call_count == 1


def test_prompt_progress_becomes_events_and_is_asked_for(llama: Any, config: AgentConfig) -> None:
    """llama-server's `return_progress`: chunks with `prompt_progress` and an empty delta."""
    progress = [
        {"choices": [], "prompt_progress": {"total": 900, "cache": 0, "processed": n}}
        for n in (512, 900)
    ]
    chunks = [
        *progress,
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]
    route = llama.post(f"{BASE}/chat/completions").mock(return_value=sse_from_chunks(chunks))
    result = run_agent("hello", config=config)
    assert result.output == "Hi"
    seen = [(e.processed, e.total) for e in result.events if isinstance(e, PromptProgress)]
    assert seen == [(512, 900), (900, 900)]
    assert bodies(route)[0]["return_progress"] is True
