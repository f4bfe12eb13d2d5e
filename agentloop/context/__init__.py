"""Fitting long conversations into small context windows.

The window is known (`resolve_window`), every request is counted and fitted before it is
sent (`ContextManager.prepare`), and what gets compacted follows a policy the user
chooses (`ContextPolicy`). Only what is sent is compacted: the caller keeps every message.
See docs/context.md.
"""

from agentloop.context.counting import EstimateCounter, TokenCounter
from agentloop.context.manager import ContextManager
from agentloop.context.policy import STEPS, ContextPolicy, Step
from agentloop.context.records import Applied, Compaction, Prepared, TruncationWarning
from agentloop.context.summary import Summariser, SummaryRequest, summary_request
from agentloop.context.validate import conversation_problems
from agentloop.context.window import DEFAULT_CONTEXT_SIZE, ContextWindow, resolve_window

__all__ = [
    "DEFAULT_CONTEXT_SIZE",
    "STEPS",
    "Applied",
    "Compaction",
    "ContextManager",
    "ContextPolicy",
    "ContextWindow",
    "EstimateCounter",
    "Prepared",
    "Step",
    "Summariser",
    "SummaryRequest",
    "TokenCounter",
    "TruncationWarning",
    "conversation_problems",
    "resolve_window",
    "summary_request",
]
