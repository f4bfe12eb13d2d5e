"""Test doubles for code built on agentloop: a real-HTTP fake OpenAI-compatible server."""

from agentloop.testing.fake_server import FakeOpenAIServer, FakeReply, ScriptItem, ServerKind

__all__ = [
    "FakeOpenAIServer",
    "FakeReply",
    "ScriptItem",
    "ServerKind",
]
