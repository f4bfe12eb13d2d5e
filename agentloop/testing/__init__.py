"""Test doubles for code built on agentloop.

- `ScriptedBackend` / `reply`: an in-memory model for loop tests (no HTTP).
- `FakeOpenAIServer` / `FakeReply`: a real-HTTP fake OpenAI-compatible server.
"""

from agentloop.testing._wire import FakeKind
from agentloop.testing.fake_server import FakeOpenAIServer, FakeReply, ScriptItem
from agentloop.testing.scripted import ScriptedBackend, reply

__all__ = [
    "FakeKind",
    "FakeOpenAIServer",
    "FakeReply",
    "ScriptItem",
    "ScriptedBackend",
    "reply",
]
