"""`agentloop doctor` says which window requests are fitted to; the CLI sets it."""

from __future__ import annotations

import argparse
from typing import Any

import httpx

from agentloop import AgentConfig
from agentloop.backend import OpenAIBackend
from agentloop.cli.chat_cmd import add_server_options, config_from_args
from agentloop.context import DEFAULT_CONTEXT_SIZE
from agentloop.doctor import _context

BASE = "http://silent.test/v1"


async def test_doctor_names_the_window_when_the_server_is_silent(httpx2_mock: Any) -> None:
    models = {"object": "list", "data": [{"id": "m", "object": "model", "owned_by": "me"}]}
    httpx2_mock.get(f"{BASE}/models").mock(return_value=httpx.Response(200, json=models))
    httpx2_mock.get("http://silent.test/props").mock(return_value=httpx.Response(404))
    backend = OpenAIBackend(AgentConfig(base_url=BASE, max_retries=0))
    try:
        default = await _context(backend, "openai", None)
        configured = await _context(backend, "openai", 12288)
    finally:
        await backend.aclose()
    assert f"{DEFAULT_CONTEXT_SIZE} tokens" in default.message and "--context-size" in default.fix
    assert "12288 tokens (configured)" in configured.message and configured.fix == ""


def test_the_command_line_sets_the_window_and_turns_compaction_off() -> None:
    parser = argparse.ArgumentParser()
    add_server_options(parser)
    args = parser.parse_args(["--context-size", "2048", "--no-compaction"])
    config = config_from_args(args, {})
    assert config.context_size == 2048 and not config.context.enabled
    assert config_from_args(parser.parse_args([]), {}).context.enabled
