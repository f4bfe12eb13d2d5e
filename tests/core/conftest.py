"""Shared helpers for the core tests: recordings of a real llama-server, tiny tools."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentloop import AgentConfig, tool

RECORDINGS = Path(__file__).resolve().parent.parent / "fixtures" / "recordings"
BASE = "http://llama.test/v1"


def recording(folder: str, name: str) -> bytes:
    """Raw bytes of one recorded response (JSON or SSE), exactly as the server sent them."""
    return (RECORDINGS / folder / name).read_bytes()


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(
        status, content=content, headers={"content-type": "application/json", **(headers or {})}
    )


def sse_response(raw: bytes) -> httpx.Response:
    return httpx.Response(200, content=raw, headers={"content-type": "text/event-stream"})


def sse_from_chunks(chunks: list[dict[str, Any]]) -> httpx.Response:
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return sse_response(body.encode())


MODELS = {
    "object": "list",
    "data": [{"id": "qwen2.5-coder-0.5b", "object": "model", "owned_by": "llamacpp"}],
}


PROPS = {"default_generation_settings": {"n_ctx": 8192}, "total_slots": 1}


@pytest.fixture
def config() -> AgentConfig:
    return AgentConfig(base_url=BASE, max_retries=3, retry_max_wait=0.01, server_kind="llama")


@pytest.fixture
def llama(httpx2_mock: Any) -> Iterator[Any]:
    """respx router with /models and /props answered; tests add /chat/completions routes."""
    httpx2_mock.get(f"{BASE}/models").mock(return_value=json_response(MODELS))
    props = httpx2_mock.get(f"{BASE.removesuffix('/v1')}/props", name="props")
    props.mock(return_value=json_response(PROPS))
    yield httpx2_mock
    if not props.called:  # only runs ask for it; tests of the bare client need not
        httpx2_mock.routes.pop("props")


@tool
def python(code: str) -> str:
    """Run Python code (a stand-in that only echoes it)."""
    return f"ran: {code}"
