"""Conversations to compact: a long tool loop, a chat with history, a vLLM-shaped one."""

from __future__ import annotations

import json
from typing import Any

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "terminal",
            "description": "Run a shell command.",
            "parameters": {"type": "object", "properties": {"command": {"type": "string"}}},
        },
    }
]


def call(i: int, name: str = "terminal") -> dict[str, Any]:
    """One tool call in OpenAI format."""
    arguments = json.dumps({"command": f"cat file{i}.txt"})
    return {
        "id": f"call_{i}",
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }


def tool_loop(
    turns: int,
    output_chars: int,
    *,
    reasoning: str = "",
    reasoning_field: str = "reasoning_content",
    parallel: int = 1,
    prompt: str = "Read every file and tell me which one mentions PINEAPPLE.",
) -> list[dict[str, Any]]:
    """System, user, then `turns` assistant turns each with `parallel` calls and results."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a careful assistant with a terminal."},
        {"role": "user", "content": prompt},
    ]
    for t in range(turns):
        calls = [call(t * parallel + k) for k in range(parallel)]
        assistant: dict[str, Any] = {"role": "assistant", "content": "", "tool_calls": calls}
        if reasoning:
            assistant[reasoning_field] = f"{reasoning} (turn {t})"
        messages.append(assistant)
        for c in calls:
            n = c["id"].split("_")[1]
            body = f"file{n}.txt says: " + ("lorem ipsum " * output_chars)[:output_chars]
            messages.append({"role": "tool", "tool_call_id": c["id"], "content": body})
    return messages
