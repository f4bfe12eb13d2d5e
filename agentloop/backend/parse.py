"""Turn chat-completions JSON (whole, or as stream chunks) into a `ModelReply`.

Tolerant of what real servers send: an id only in the first delta (llama-server, vLLM)
or in every delta (llama-cpp-python), a name that arrives late, arguments in fragments
or whole, a missing `index`, legacy `function_call`, reasoning under `reasoning_content`
or `reasoning`, and a `</think>` left in the content.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from agentloop.backend.think import split_think
from agentloop.backend.types import CALLS_CAPPED, ModelReply, RawToolCall
from agentloop.result import Usage

REASONING_FIELDS = ("reasoning_content", "reasoning")


@dataclass(slots=True)
class _CallBuilder:
    id: str = ""
    name: str = ""
    arguments: str = ""

    def add(self, delta: dict[str, Any]) -> None:
        if delta.get("id"):
            self.id = self.id or str(delta["id"])
        function = delta.get("function") or {}
        name = function.get("name")
        if name and name != self.name:
            self.name = name if not self.name else self.name + name
        fragment = function.get("arguments")
        if isinstance(fragment, dict):  # some servers send an object, not a string
            fragment = json.dumps(fragment)
        if fragment:
            self.arguments = _merge_arguments(self.arguments, fragment)


def _merge_arguments(so_far: str, fragment: str) -> str:
    """Append a fragment, unless the server is resending the whole (or a growing) text."""
    if so_far and fragment.startswith(so_far) and is_complete_json(so_far):
        return fragment
    return so_far + fragment


def canonical_arguments(text: str) -> str:
    """The arguments as sorted, compact JSON when they parse (so spacing does not make two
    calls differ), else stripped."""
    try:
        return json.dumps(json.loads(text or "{}"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return text.strip()


def is_complete_json(text: str) -> bool:
    """True when the text is one whole JSON value."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def text_of(content: Any) -> str:
    """Message content as text: a string, None, or a list of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


@dataclass(slots=True)
class ReplyBuilder:
    """Accumulates a reply from stream chunks (`add_chunk`) or a whole body (`add_body`)."""

    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    reasoning_field: str | None = None
    calls: dict[int, _CallBuilder] = field(default_factory=dict)
    finish_reason: str = ""
    usage: Usage = field(default_factory=Usage)

    def add_chunk(self, chunk: dict[str, Any]) -> tuple[str, str]:
        """Fold one stream chunk in; return the (content, reasoning) text it carried."""
        if chunk.get("usage"):
            self.usage = Usage.from_wire(chunk["usage"])
        choices = chunk.get("choices") or []
        if not choices:
            return "", ""
        choice = choices[0]
        if choice.get("finish_reason"):
            self.finish_reason = str(choice["finish_reason"])
        return self._add_message(choice.get("delta") or {})

    def add_body(self, body: dict[str, Any]) -> None:
        """Fold a whole (non-streamed) response in."""
        self.usage = Usage.from_wire(body.get("usage"))
        choices = body.get("choices") or []
        if choices:
            choice = choices[0]
            self.finish_reason = str(choice.get("finish_reason") or "")
            self._add_message(choice.get("message") or {})

    def _add_message(self, message: dict[str, Any]) -> tuple[str, str]:
        text = text_of(message.get("content"))
        if text:
            self.content.append(text)
        thought = ""
        for name in REASONING_FIELDS:
            value = message.get(name)
            if isinstance(value, str) and value:
                thought = value
                self.reasoning_field = self.reasoning_field or name
                self.reasoning.append(value)
                break
        for position, delta in enumerate(message.get("tool_calls") or []):
            self._builder_for(delta, position).add(delta)
        legacy = message.get("function_call")
        if isinstance(legacy, dict) and not message.get("tool_calls"):
            self._builder_for({"index": 0}, 0).add({"function": legacy})
        return text, thought

    def _builder_for(self, delta: dict[str, Any], position: int) -> _CallBuilder:
        index = delta.get("index")
        if not isinstance(index, int):
            index = self._index_by_id(delta.get("id"), position)
        builder = self.calls.get(index)
        if builder is None:
            builder = self.calls[index] = _CallBuilder()
        return builder

    def _index_by_id(self, call_id: Any, position: int) -> int:
        if call_id:
            for index, builder in self.calls.items():
                if builder.id == call_id:
                    return index
            return len(self.calls)
        return max(self.calls) if self.calls else position

    def finished_calls(self) -> list[tuple[str, str]]:
        """(name, arguments) of every streamed call but the last, which may still grow."""
        return [(self.calls[i].name, self.calls[i].arguments) for i in sorted(self.calls)[:-1]]

    def keep_distinct_calls(self) -> None:
        """Drop the call still streaming and every repeat of an earlier call (same name and
        arguments), keeping the first of each; the reply then ends as a normal tool call."""
        seen: set[tuple[str, str]] = set()
        kept: dict[int, _CallBuilder] = {}
        for index in sorted(self.calls)[:-1]:
            builder = self.calls[index]
            key = (builder.name, canonical_arguments(builder.arguments))
            if key not in seen:
                seen.add(key)
                kept[index] = builder
        self.calls = kept
        self.finish_reason = "tool_calls"

    def keep_first_calls(self, count: int) -> None:
        """Keep only the first `count` calls; the reply then ends as `CALLS_CAPPED`."""
        self.calls = {index: self.calls[index] for index in sorted(self.calls)[:count]}
        self.finish_reason = CALLS_CAPPED

    def build(self, *, time_to_first_token: float | None = None) -> ModelReply:
        """The finished reply."""
        content, think = split_think("".join(self.content))
        reasoning = "".join(self.reasoning)
        if think:
            reasoning = f"{reasoning}\n{think}".strip() if reasoning else think
        complete, truncated = self._calls()
        return ModelReply(
            content=content,
            reasoning=reasoning,
            reasoning_field=self.reasoning_field,
            tool_calls=tuple(complete),
            truncated_calls=tuple(truncated),
            finish_reason=self.finish_reason,
            usage=self.usage,
            time_to_first_token=time_to_first_token,
        )

    def _calls(self) -> tuple[list[RawToolCall], list[RawToolCall]]:
        complete: list[RawToolCall] = []
        truncated: list[RawToolCall] = []
        for number, index in enumerate(sorted(self.calls)):
            builder = self.calls[index]
            if not builder.name and not builder.arguments.strip():
                continue  # an empty slot, not a call
            # A call whose name never came is kept: the model is told it named no tool.
            call_id = builder.id or f"call_{secrets.token_hex(8)}_{number}"
            call = RawToolCall(call_id, builder.name, builder.arguments)
            cut_off = self.finish_reason == "length" and builder.arguments.strip()
            if cut_off and not is_complete_json(builder.arguments):
                truncated.append(call)
            else:
                complete.append(call)
        return complete, truncated
