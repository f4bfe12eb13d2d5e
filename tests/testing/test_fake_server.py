"""The fake OpenAI server speaks llama-server's wire format over real HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from agentloop.testing import FakeOpenAIServer, FakeReply

FIXTURES = Path(__file__).parent / "fixtures"
ADD_CALL = ("add_number", {"a": 1234, "b": 5678})
USER: list[Any] = [{"role": "user", "content": "What is 1234 + 5678?"}]


def sse_payloads(text: str) -> list[str]:
    return [line[len("data: ") :] for line in text.splitlines() if line.startswith("data: ")]


def stream_shape(payloads: list[str]) -> list[str]:
    """What each chunk carries, consecutive repeats collapsed (fragments count vary)."""
    shape: list[str] = []
    for payload in payloads:
        if payload == "[DONE]":
            step = "done"
        else:
            chunk = json.loads(payload)
            if not chunk["choices"]:
                step = "usage" if "usage" in chunk else "empty"
            else:
                choice = chunk["choices"][0]
                delta = choice["delta"]
                if choice["finish_reason"] is not None:
                    step = f"finish:{choice['finish_reason']}"
                elif "role" in delta:
                    step = "role"
                elif "tool_calls" in delta:
                    call = delta["tool_calls"][0]
                    kind = "start" if "id" in call else "args"
                    step = f"call{call['index']}-{kind}"
                else:
                    step = "content"
        if not shape or shape[-1] != step:
            shape.append(step)
    return shape


def raw_stream(srv: FakeOpenAIServer, **extra: Any) -> str:
    body = {"model": "m", "messages": USER, "stream": True, **extra}
    response = httpx2.post(f"{srv.base_url}/chat/completions", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    return response.text


def test_non_streamed_tool_call_parses_with_the_openai_client() -> None:
    with FakeOpenAIServer([FakeReply(tool_calls=[ADD_CALL])]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="x", max_retries=0)
        reply = client.chat.completions.create(model="m", messages=USER)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [  # type: ignore[union-attr]
        ("add_number", {"a": 1234, "b": 5678})
    ]
    assert len(calls[0].id) == 32
    assert reply.usage is not None and reply.usage.total_tokens > 0
    assert srv.requests == [{"model": "m", "messages": USER}]


def test_stream_of_a_tool_call_has_the_shape_of_a_llama_server_recording() -> None:
    recorded = sse_payloads((FIXTURES / "c_stream_tools_auto.sse").read_text())
    with FakeOpenAIServer([FakeReply(tool_calls=[ADD_CALL])]) as srv:
        payloads = sse_payloads(raw_stream(srv))
    assert stream_shape(payloads) == stream_shape(recorded)
    assert stream_shape(payloads) == [
        "role",
        "call0-start",
        "call0-args",
        "finish:tool_calls",
        "done",
    ]
    first_call = json.loads(payloads[1])["choices"][0]["delta"]["tool_calls"][0]
    recorded_call = json.loads(recorded[1])["choices"][0]["delta"]["tool_calls"][0]
    assert first_call.keys() == recorded_call.keys()
    assert first_call["function"].keys() == recorded_call["function"].keys()
    fragments = [
        json.loads(p)["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
        for p in payloads[1:-2]
    ]
    assert len(fragments) > 5
    assert json.loads("".join(fragments)) == {"a": 1234, "b": 5678}
    assert json.loads(payloads[0]).keys() == json.loads(recorded[0]).keys()


def test_parallel_calls_stream_one_after_the_other_like_llama_server() -> None:
    recorded = sse_payloads((FIXTURES / "e_parallel_stream.sse").read_text())
    calls = [("add_number", {"a": 2, "b": 3}), ("add_number", {"a": 10, "b": 20})]
    with FakeOpenAIServer([FakeReply(tool_calls=calls)]) as srv:
        shape = stream_shape(sse_payloads(raw_stream(srv)))
    assert shape == stream_shape(recorded)
    assert shape[1:5] == ["call0-start", "call0-args", "call1-start", "call1-args"]


def test_usage_chunk_only_when_include_usage_is_asked() -> None:
    recorded = sse_payloads((FIXTURES / "c_stream_usage.sse").read_text())
    with FakeOpenAIServer([FakeReply("OK")]) as srv:
        with_usage = sse_payloads(raw_stream(srv, stream_options={"include_usage": True}))
        without = sse_payloads(raw_stream(srv))
    assert stream_shape(with_usage) == stream_shape(recorded)
    assert stream_shape(with_usage) == ["role", "content", "finish:stop", "usage", "done"]
    assert "usage" not in stream_shape(without)


async def test_streamed_content_and_reasoning_reassemble_with_the_async_client() -> None:
    reply = FakeReply("The sum is 6912.", reasoning="Add them: 1234 + 5678.")
    async with FakeOpenAIServer([reply]) as srv:
        client = openai.AsyncOpenAI(base_url=srv.base_url, api_key="x", max_retries=0)
        stream = await client.chat.completions.create(
            model="m",
            messages=USER,
            stream=True,
        )
        content, reasoning, finish = [], [], None
        async for chunk in stream:
            delta = chunk.choices[0].delta
            content.append(delta.content or "")
            reasoning.append(getattr(delta, "reasoning_content", None) or "")
            finish = chunk.choices[0].finish_reason or finish
        await client.close()
    assert "".join(content) == "The sum is 6912."
    assert "".join(reasoning) == "Add them: 1234 + 5678."
    assert finish == "stop"
    assert sum(1 for part in content if part) >= 5


def test_script_moves_on_per_request_and_repeats_its_last_item() -> None:
    seen: list[int] = []

    def echo(body: dict[str, Any]) -> FakeReply:
        seen.append(len(body["messages"]))
        return FakeReply(f"{len(body['messages'])} messages")

    with FakeOpenAIServer([FakeReply("first"), echo]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="x", max_retries=0)
        texts = [
            client.chat.completions.create(model="m", messages=USER * n).choices[0].message.content
            for n in (1, 2, 3)
        ]
    assert texts == ["first", "2 messages", "3 messages"]
    assert seen == [2, 3]
    assert [len(r["messages"]) for r in srv.requests] == [1, 2, 3]


def test_error_status_sends_llama_server_error_json() -> None:
    overflow = json.loads((FIXTURES / "g_error_ctx_overflow.response.json").read_text())
    script = [
        FakeReply(status=400, error_body=overflow),
        FakeReply(status=503, headers={"Retry-After": "2"}),
    ]
    with FakeOpenAIServer(script) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="x", max_retries=0)
        with pytest.raises(openai.BadRequestError) as bad:
            client.chat.completions.create(model="m", messages=USER)
        with pytest.raises(openai.InternalServerError) as unavailable:
            client.chat.completions.create(model="m", messages=USER)
    assert bad.value.status_code == 400
    assert bad.value.body == overflow["error"]
    assert unavailable.value.response.headers["retry-after"] == "2"
    assert unavailable.value.response.json() == {
        "error": {"code": 503, "message": "Service Unavailable", "type": "unavailable_error"}
    }


def test_disconnect_closes_without_a_response_and_the_next_request_works() -> None:
    script = [FakeReply(disconnect=True), FakeReply("back")]
    with FakeOpenAIServer(script) as srv, httpx2.Client() as client:
        body = {"model": "m", "messages": USER}
        with pytest.raises(httpx2.RemoteProtocolError, match="without sending a response"):
            client.post(f"{srv.base_url}/chat/completions", json=body)
        after = client.post(f"{srv.base_url}/chat/completions", json=body)
    assert after.json()["choices"][0]["message"]["content"] == "back"
    assert srv.connections == 2


def test_keep_alive_reuses_one_connection() -> None:
    with FakeOpenAIServer([FakeReply("ok")]) as srv, httpx2.Client() as client:
        url = f"{srv.base_url}/chat/completions"
        for _ in range(5):
            client.post(url, json={"messages": USER}).raise_for_status()
            client.post(url, json={"messages": USER, "stream": True}).raise_for_status()
    assert srv.connections == 1
    assert len(srv.requests) == 10


async def test_latency_is_served_concurrently() -> None:
    limits = httpx2.Limits(max_connections=64)
    async with (
        FakeOpenAIServer([FakeReply("ok")], latency=0.2) as srv,
        httpx2.AsyncClient(limits=limits) as client,
    ):
        url = f"{srv.base_url}/chat/completions"
        started = time.perf_counter()
        responses = await asyncio.gather(
            *(client.post(url, json={"messages": USER}) for _ in range(32))
        )
        elapsed = time.perf_counter() - started
    assert all(r.status_code == 200 for r in responses)
    assert 0.2 <= elapsed < 0.8


def test_per_reply_delay_overrides_latency() -> None:
    with FakeOpenAIServer([FakeReply("slow", delay=0.3), FakeReply("fast", delay=0.0)]) as srv:
        timings = []
        for _ in range(2):
            started = time.perf_counter()
            httpx2.post(f"{srv.base_url}/chat/completions", json={"messages": USER})
            timings.append(time.perf_counter() - started)
    assert timings[0] >= 0.3, "the delay is honoured"
    # Relative, not absolute: on a loaded machine a plain request alone can take 0.2 s.
    assert timings[1] < timings[0], "a reply without a delay does not wait for one"


def test_llama_kind_serves_props_health_and_llamacpp_models() -> None:
    with FakeOpenAIServer(model="glm.gguf", n_ctx=8192, chat_template="[gMASK]") as srv:
        props = httpx2.get(f"{srv.url}/props").json()
        health = httpx2.get(f"{srv.url}/health")
        models = httpx2.get(f"{srv.base_url}/models").json()
    assert props["default_generation_settings"]["n_ctx"] == 8192
    assert props["chat_template"] == "[gMASK]"
    assert health.json() == {"status": "ok"}
    assert [(m["id"], m["owned_by"]) for m in models["data"]] == [("glm.gguf", "llamacpp")]


def test_vllm_kind_has_no_props_and_reports_max_model_len() -> None:
    reply = FakeReply("done", reasoning="hmm")
    with FakeOpenAIServer([reply], kind="vllm", model="zai/GLM", n_ctx=32768) as srv:
        props = httpx2.get(f"{srv.url}/props")
        models = httpx2.get(f"{srv.base_url}/models").json()
        health = httpx2.get(f"{srv.url}/health")
        message = httpx2.post(f"{srv.base_url}/chat/completions", json={"messages": USER}).json()
    assert props.status_code == 404
    assert health.status_code == 200
    assert models["data"][0]["owned_by"] == "vllm"
    assert models["data"][0]["max_model_len"] == 32768
    assert message["choices"][0]["message"]["reasoning"] == "hmm"
    assert "system_fingerprint" not in message


def test_raw_string_arguments_and_finish_reason_are_sent_verbatim() -> None:
    cut = FakeReply(tool_calls=[("python", '{"code": "print(')], finish_reason="length")
    with FakeOpenAIServer([cut]) as srv:
        body = httpx2.post(f"{srv.base_url}/chat/completions", json={"messages": USER}).json()
        stream = sse_payloads(raw_stream(srv))
    choice = body["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["tool_calls"][0]["function"]["arguments"] == '{"code": "print('
    assert stream_shape(stream)[-2] == "finish:length"


def test_invalid_json_body_gets_a_400_and_is_not_recorded() -> None:
    with FakeOpenAIServer() as srv:
        response = httpx2.post(f"{srv.base_url}/chat/completions", content=b"{not json")
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert srv.requests == []


def test_url_before_start_and_double_start_are_refused() -> None:
    srv = FakeOpenAIServer()
    with pytest.raises(RuntimeError, match="not started"):
        _ = srv.base_url
    with srv, pytest.raises(RuntimeError, match="already started"):
        srv.start()
