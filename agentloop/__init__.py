"""agentloop: a tool-calling agent loop for local OpenAI-compatible model servers.

from agentloop import run_agent, tool

@tool
def add_number(a: float, b: float) -> float:
    '''Add two numbers.'''
    return a + b

result = run_agent("What is 1234 + 5678?", tools=[add_number],
                   base_url="http://127.0.0.1:8001/v1")
print(result.output, result.stop_reason)
"""

from agentloop._shadow import check_siblings

check_siblings()  # before anything imports `tools`: a user's tools.py must not be executed

# ruff: noqa: E402
from agentloop.config import AgentConfig
from agentloop.errors import (
    AgentloopError,
    BackendError,
    BackendHTTPError,
    BackendUnavailable,
    ConfigError,
    ContextOverflow,
    ShadowedModuleError,
)
from agentloop.events import (
    BackendRetry,
    Event,
    EventHandler,
    ReasoningDelta,
    RunFinished,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)
from agentloop.loop import Agent
from agentloop.profiles import BUILTIN_PROFILES, Profile
from agentloop.result import RunResult, StopReason, ToolCallRecord, Usage
from agentloop.run import arun_agent, run_agent
from tools import (
    ApprovalDecision,
    ApprovalRequest,
    Tool,
    ToolContext,
    ToolError,
    ToolRegistry,
    tool,
)

__version__ = "0.1.0"

__all__ = [
    "BUILTIN_PROFILES",
    "Agent",
    "AgentConfig",
    "AgentloopError",
    "ApprovalDecision",
    "ApprovalRequest",
    "BackendError",
    "BackendHTTPError",
    "BackendRetry",
    "BackendUnavailable",
    "ConfigError",
    "ContextOverflow",
    "Event",
    "EventHandler",
    "Profile",
    "ReasoningDelta",
    "RunFinished",
    "RunResult",
    "ShadowedModuleError",
    "StopReason",
    "TextDelta",
    "Tool",
    "ToolCallFinished",
    "ToolCallRecord",
    "ToolCallStarted",
    "ToolContext",
    "ToolError",
    "ToolRegistry",
    "TurnFinished",
    "Usage",
    "arun_agent",
    "run_agent",
    "tool",
]
