"""Counting with the server: llama-server's /apply-template + /tokenize, vLLM's /tokenize."""

from __future__ import annotations

import json
from typing import Any

import httpx
import httpx2

from agentloop.backend.tokens import ServerTokenCounter, prompt_cache, server_root
from tests.core.conftest import recording

from .conftest import TOOLS

ROOT = "http://llama.test"
MESSAGES = [{"role": "user", "content": "What is 1234 + 5678?"}]
# Shapes as the real servers answer (llama-server b0-lcpp-0.3.36; vLLM TokenizeResponse).
QWEN_PROMPT = (
    "<|im_start|>system\nYou may call tools.<|im_end|>\n"
    "<|im_start|>user\nWhat is 1234 + 5678?<|im_end|>\n<|im_start|>assistant\n"
)


def reply(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


async def test_llama_server_renders_the_template_then_tokenizes(httpx2_mock: Any) -> None:
    template = httpx2_mock.post(f"{ROOT}/apply-template").mock(
        return_value=reply({"prompt": QWEN_PROMPT})
    )
    tokenize = httpx2_mock.post(f"{ROOT}/tokenize").mock(
        return_value=reply({"tokens": list(range(31))})
    )
    async with httpx2.AsyncClient() as http:
        counter = ServerTokenCounter(
            http, f"{ROOT}/v1", "llama", chat_template_kwargs={"enable_thinking": False}
        )
        assert await counter.count(MESSAGES, TOOLS) == 31
    sent = json.loads(template.calls[0].request.content)
    assert sent == {
        "messages": MESSAGES,
        "tools": TOOLS,
        "chat_template_kwargs": {"enable_thinking": False},
    }
    assert json.loads(tokenize.calls[0].request.content) == {
        "content": QWEN_PROMPT,
        "add_special": True,
    }


async def test_vllm_counts_the_chat_request_in_one_call(httpx2_mock: Any) -> None:
    route = httpx2_mock.post(f"{ROOT}/tokenize").mock(
        return_value=reply({"count": 57, "max_model_len": 32768, "tokens": list(range(57))})
    )
    async with httpx2.AsyncClient() as http:
        counter = ServerTokenCounter(http, f"{ROOT}/v1", "vllm", model="zai-org/GLM-4.7-Flash")
        assert await counter.count(MESSAGES, TOOLS) == 57
    sent = json.loads(route.calls[0].request.content)
    assert sent["model"] == "zai-org/GLM-4.7-Flash" and sent["add_generation_prompt"] is True
    assert sent["messages"] == MESSAGES and sent["tools"] == TOOLS


async def test_a_server_without_the_endpoints_is_asked_once(httpx2_mock: Any) -> None:
    route = httpx2_mock.post(f"{ROOT}/apply-template").mock(
        return_value=reply({"error": {"code": 404, "message": "File Not Found"}}, 404)
    )
    async with httpx2.AsyncClient() as http:
        counter = ServerTokenCounter(http, f"{ROOT}/v1", "llama")
        assert await counter.count(MESSAGES, TOOLS) is None
        assert await counter.count(MESSAGES, TOOLS) is None
    assert route.call_count == 1


async def test_other_servers_are_not_asked() -> None:
    async with httpx2.AsyncClient() as http:
        counter = ServerTokenCounter(http, "https://api.example/v1", "openai")
        assert await counter.count(MESSAGES, TOOLS) is None


def test_the_root_drops_v1() -> None:
    assert server_root("http://h:8001/v1/") == "http://h:8001"
    assert server_root("http://h:8001") == "http://h:8001"


def test_prompt_cache_figures_from_a_recorded_reply() -> None:
    body = json.loads(recording("qwen2.5-coder-0.5b", "d_loop_round2.response.json"))
    cache = prompt_cache(body)
    assert cache is not None and (cache.cached, cache.evaluated) == (311, 55)
    assert round(cache.share, 3) == 0.85
    assert prompt_cache({"usage": {}}) is None
