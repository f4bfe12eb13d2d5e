"""`agentloop chat`: an interactive REPL over the agent loop's typed events.

`run_chat(ChatOptions(...))` runs it; the pieces (renderer, slash commands, input readers,
saved conversations) are usable on their own.
"""

from agentloop.chat.app import ChatOptions, run_chat
from agentloop.chat.render import Renderer
from agentloop.chat.session import ChatSession, SessionOptions
from agentloop.chat.state import ChatSettings, load_conversation, save_conversation

__all__ = [
    "ChatOptions",
    "ChatSession",
    "ChatSettings",
    "Renderer",
    "SessionOptions",
    "load_conversation",
    "run_chat",
    "save_conversation",
]
