"""Test doubles for code built on agentloop.

- `ScriptedBackend` / `reply`: an in-memory model for loop tests (no HTTP).
- `FakeOpenAIServer` / `FakeReply`: a real-HTTP fake OpenAI-compatible server.
"""

from agentloop.testing.fake_server import FakeOpenAIServer, FakeReply, ScriptItem, ServerKind
from agentloop.testing.scripted import ScriptedBackend, reply

__all__ = [
    "FakeOpenAIServer",
    "FakeReply",
    "ScriptItem",
    "ScriptedBackend",
    "ServerKind",
    "reply",
]
