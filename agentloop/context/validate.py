"""What llama-server and vLLM require of a conversation, checked before it is sent.

Both render the messages through a chat template and refuse (HTTP 400 or 500) a `tool`
message that answers no call, and an assistant's calls left without their results when
the conversation goes on. Tests run every compaction through this.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_ROLES = frozenset({"system", "user", "assistant", "tool"})


def conversation_problems(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """Everything wrong with `messages` as a chat-completions conversation ([] when valid)."""
    problems: list[str] = []
    open_calls: list[str] = []
    seen_other = False
    for i, message in enumerate(messages):
        role = message.get("role")
        if role not in _ROLES:
            problems.append(f"message {i}: unknown role {role!r}")
        if role == "system" and seen_other:
            problems.append(f"message {i}: a system message after the conversation started")
        if role != "system":
            seen_other = True
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in open_calls:
                problems.append(f"message {i}: tool result {call_id!r} answers no open call")
            else:
                open_calls.remove(call_id)
            continue
        if open_calls:
            problems.append(f"message {i}: calls {open_calls} were left without results")
            open_calls = []
        if role == "assistant":
            open_calls = [str(c.get("id")) for c in message.get("tool_calls") or ()]
        if not isinstance(message.get("content"), str | list | None):
            problems.append(f"message {i}: content must be text, parts or null")
    if not messages:
        problems.append("no messages")
    return problems
