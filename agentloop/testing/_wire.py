"""Wire formats of the fake server: completion bodies, SSE chunks and info endpoints.

Shapes follow the llama-server recordings in tests (ids are 32 random alphanumerics, the
first stream delta carries the role, a tool call's first delta carries id, type, name and
the first argument fragment, later deltas only argument fragments, then a finish chunk and,
when asked, a usage chunk with empty ``choices``) and vLLM's documented OpenAI server.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from agentloop.testing.fake_server import FakeReply

Json = dict[str, Any]
FakeKind = Literal["llama", "vllm"]
"""The server kinds the fake server imitates."""

# Roughly one token per piece: words (with their leading space), single digits as Qwen and
# llama tokenizers emit them, runs of punctuation, and whitespace.
_PIECE = re.compile(r"\s?[^\W\d]+|\s?\d|\s?[^\w\s]+|\s+")
_FINGERPRINT = "b0-agentloop-fake"
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    501: "not_supported_error",
    503: "unavailable_error",
}


def pieces(text: str) -> list[str]:
    """Cut text into token-sized pieces whose concatenation is the text."""
    return _PIECE.findall(text)


def new_id() -> str:
    """A random 32-character alphanumeric id, like llama-server's completion and call ids."""
    return uuid.uuid4().hex


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _arguments(raw: Mapping[str, Any] | str) -> str:
    return raw if isinstance(raw, str) else json.dumps(dict(raw), ensure_ascii=False)


def _timings(usage: Json) -> Json:
    """llama-server's ``timings`` block (made-up speeds, consistent with the token counts)."""
    prompt_n, predicted_n = usage["prompt_tokens"], usage["completion_tokens"]
    return {
        "cache_n": 0,
        "prompt_n": prompt_n,
        "prompt_ms": prompt_n * 10.0,
        "predicted_n": predicted_n,
        "predicted_ms": predicted_n * 40.0,
    }


@dataclass(frozen=True)
class Wire:
    """Builds the bodies one fake server sends."""

    kind: FakeKind
    model: str
    n_ctx: int
    chat_template: str
    reasoning_field: str

    @property
    def server_header(self) -> dict[str, str]:
        """The ``Server`` header of the imitated server."""
        return {"Server": "llama.cpp" if self.kind == "llama" else "uvicorn"}

    def error_body(self, status: int, message: str) -> Json:
        """llama-server's error JSON for a status."""
        kind = _ERROR_TYPES.get(status, "server_error")
        return {"error": {"code": status, "message": message, "type": kind}}

    def info(self, path: str) -> Json | str | None:
        """The body of a GET endpoint, or None when this server has no such endpoint."""
        if path == "/health":
            return {"status": "ok"} if self.kind == "llama" else ""
        if path in ("/v1/models", "/models"):
            return self._models()
        if path == "/props" and self.kind == "llama":
            return self._props()
        return None

    def _models(self) -> Json:
        created = int(time.time())
        if self.kind == "vllm":
            entry: Json = {
                "id": self.model,
                "object": "model",
                "created": created,
                "owned_by": "vllm",
                "root": self.model,
                "parent": None,
                "max_model_len": self.n_ctx,
            }
            return {"object": "list", "data": [entry]}
        meta = {"vocab_type": 2, "n_vocab": 151936, "n_ctx": self.n_ctx, "n_ctx_train": 32768}
        entry = {
            "id": self.model,
            "aliases": [self.model],
            "tags": [],
            "object": "model",
            "created": created,
            "owned_by": "llamacpp",
            "meta": meta,
        }
        listed = {"name": self.model, "model": self.model, "type": "model"}
        return {"models": [listed], "object": "list", "data": [entry]}

    def _props(self) -> Json:
        params = {"n_predict": -1, "temperature": 0.8, "top_k": 40, "top_p": 0.95, "min_p": 0.05}
        settings = {"id": 0, "id_task": -1, "n_ctx": self.n_ctx, "params": params}
        return {
            "default_generation_settings": settings,
            "total_slots": 1,
            "model_alias": self.model,
            "model_path": self.model,
            "modalities": {"vision": False, "audio": False},
            "chat_template": self.chat_template,
            "chat_template_caps": {"supports_tools": True, "supports_parallel_tool_calls": True},
            "bos_token": "",
            "eos_token": "<|im_end|>",
            "build_info": _FINGERPRINT,
        }

    def _envelope(self, completion_id: str, obj: str) -> Json:
        envelope: Json = {"created": int(time.time()), "id": completion_id, "model": self.model}
        if self.kind == "llama":
            envelope["system_fingerprint"] = _FINGERPRINT
        envelope["object"] = obj
        return envelope

    @staticmethod
    def _usage(reply: FakeReply, prompt_bytes: int) -> Json:
        produced = len(pieces(reply.content)) + len(pieces(reply.reasoning or ""))
        produced += sum(len(pieces(_arguments(args))) + 2 for _, args in reply.tool_calls)
        prompt = max(1, prompt_bytes // 4)
        completion = max(1, produced)
        return {
            "completion_tokens": completion,
            "prompt_tokens": prompt,
            "total_tokens": prompt + completion,
        }

    def completion(self, reply: FakeReply, prompt_bytes: int) -> Json:
        """A non-streamed ``chat.completion`` body."""
        message: Json = {"role": "assistant", "content": reply.content}
        if reply.reasoning is not None:
            message[self.reasoning_field] = reply.reasoning
        if reply.tool_calls:
            if self.kind == "vllm" and not reply.content:
                message["content"] = None
            message["tool_calls"] = [
                {
                    "type": "function",
                    "function": {"name": name, "arguments": _arguments(args)},
                    "id": new_id(),
                }
                for name, args in reply.tool_calls
            ]
        finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
        choice = {"finish_reason": finish, "index": 0, "message": message}
        body = {"choices": [choice], **self._envelope(f"chatcmpl-{new_id()}", "chat.completion")}
        body["usage"] = self._usage(reply, prompt_bytes)
        if self.kind == "llama":
            body["timings"] = _timings(body["usage"])
        return body

    def stream_events(self, reply: FakeReply, prompt_bytes: int, include_usage: bool) -> list[str]:
        """The ``data:`` payloads of a streamed reply, ending with ``[DONE]``."""
        envelope = self._envelope(f"chatcmpl-{new_id()}", "chat.completion.chunk")
        # Each chunk is the same envelope around a different delta: build its text once.
        tail = _dumps(envelope)[1:]
        head = '{"choices":[{"finish_reason":null,"index":0,"delta":'

        def chunk(delta: Json) -> str:
            return f"{head}{_dumps(delta)}}}],{tail}"

        first_content = "" if self.kind == "vllm" else None
        events = [chunk({"role": "assistant", "content": first_content})]
        events.extend(chunk({self.reasoning_field: p}) for p in pieces(reply.reasoning or ""))
        events.extend(chunk({"content": p}) for p in pieces(reply.content))
        for index, (name, args) in enumerate(reply.tool_calls):
            parts = pieces(_arguments(args)) or [""]
            function = {"name": name, "arguments": parts[0]}
            call = {"index": index, "id": new_id(), "type": "function", "function": function}
            events.append(chunk({"tool_calls": [call]}))
            events.extend(
                chunk({"tool_calls": [{"index": index, "function": {"arguments": p}}]})
                for p in parts[1:]
            )
        finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
        finish_choice = {"finish_reason": finish, "index": 0, "delta": {}}
        usage = self._usage(reply, prompt_bytes)
        timings = {"timings": _timings(usage)} if self.kind == "llama" else {}
        events.append(_dumps({"choices": [finish_choice], **envelope, **timings}))
        if include_usage:
            events.append(_dumps({"choices": [], **envelope, "usage": usage, **timings}))
        events.append("[DONE]")
        return events
