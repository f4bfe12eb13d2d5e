"""`ScriptedBackend`: an in-memory model for loop tests — no HTTP, replies you write."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from agentloop.backend.think import split_think
from agentloop.backend.types import (
    BackendInfo,
    ChatRequest,
    DeltaHandler,
    ModelReply,
    ProgressHandler,
    RawToolCall,
    RetryHandler,
    TranscriptSink,
)
from agentloop.profiles import ServerKind
from agentloop.result import Usage

Step = ModelReply | Exception | Callable[[ChatRequest], "ModelReply | Exception"]


def reply(
    content: str = "",
    *calls: tuple[str, dict[str, Any] | str],
    reasoning: str = "",
    finish_reason: str | None = None,
    usage: Usage | None = None,
) -> ModelReply:
    """A reply with text and/or calls given as `(name, arguments)` pairs."""
    raw = tuple(
        RawToolCall(f"call_{i}", name, args if isinstance(args, str) else json.dumps(args))
        for i, (name, args) in enumerate(calls)
    )
    answer, think = split_think(content)
    return ModelReply(
        content=answer,
        reasoning=reasoning or think,
        reasoning_field="reasoning_content" if reasoning else None,
        tool_calls=raw,
        finish_reason=finish_reason or ("tool_calls" if raw else "stop"),
        usage=usage or Usage(10, 5, 15),
    )


@dataclass
class ScriptedBackend:
    """Plays back replies in order; records every request it was sent.

    Each step is a `ModelReply`, an exception to raise, or a function of the request.
    Streaming is imitated by feeding the content to `on_delta` in small pieces.
    When the script runs out, the last step repeats.
    """

    steps: Sequence[Step]
    model: str = "scripted-model"
    kind: ServerKind = "llama"
    context_size: int | None = None
    delay: float = 0.0
    requests: list[ChatRequest] = field(default_factory=list)
    closed: bool = False

    async def info(self) -> BackendInfo:
        return BackendInfo(self.model, self.kind, self.context_size)

    async def count_tokens(self, messages: Any, tools: Any, chat_template_kwargs: Any) -> None:
        return None  # like a server without a tokenizer endpoint: the loop estimates

    async def aclose(self) -> None:
        self.closed = True

    async def complete(
        self,
        request: ChatRequest,
        *,
        on_delta: DeltaHandler | None = None,
        on_retry: RetryHandler | None = None,
        transcript: TranscriptSink | None = None,
        on_progress: ProgressHandler | None = None,
    ) -> ModelReply:
        # Keep a snapshot: the loop goes on appending to the same list.
        snapshot = replace(request, messages=[dict(m) for m in request.messages])
        self.requests.append(snapshot)
        step = self.steps[min(len(self.requests) - 1, len(self.steps) - 1)]
        if callable(step) and not isinstance(step, ModelReply):
            step = step(snapshot)
        if self.delay:
            await asyncio.sleep(self.delay)
        if isinstance(step, Exception):
            raise step
        if on_delta is not None:
            await _stream(on_delta, step)
        return step


async def _stream(on_delta: DeltaHandler, step: ModelReply) -> None:
    for kind, text in (("reasoning", step.reasoning), ("text", step.content)):
        for start in range(0, len(text), 8):
            result = on_delta(kind, text[start : start + 8])  # type: ignore[arg-type]
            if result is not None:
                await result
