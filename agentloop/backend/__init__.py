"""The backend seam: how the loop talks to a model server.

`OpenAIBackend` speaks the OpenAI chat-completions protocol to llama-server, vLLM and
other compatible servers; it is the only place that imports `openai`. Anything with the
same methods (`Backend`) can stand in, such as `agentloop.testing.ScriptedBackend`.
"""

from agentloop.backend.client import OpenAIBackend, make_http_client
from agentloop.backend.parse import ReplyBuilder
from agentloop.backend.think import ThinkStream, split_think
from agentloop.backend.types import (
    Backend,
    BackendInfo,
    ChatRequest,
    DeltaHandler,
    DeltaKind,
    ModelReply,
    RawToolCall,
    RetryHandler,
    TranscriptSink,
)

__all__ = [
    "Backend",
    "BackendInfo",
    "ChatRequest",
    "DeltaHandler",
    "DeltaKind",
    "ModelReply",
    "OpenAIBackend",
    "RawToolCall",
    "ReplyBuilder",
    "RetryHandler",
    "ThinkStream",
    "TranscriptSink",
    "make_http_client",
    "split_think",
]
