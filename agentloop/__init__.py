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

from typing import TYPE_CHECKING, Any

from agentloop._shadow import check_siblings

check_siblings()  # before anything imports `tools`: a user's tools.py must not be executed

# Public names -> the module that defines them. Imported on first use, so that
# `agentloop --help` and the chat's first prompt do not wait for `openai` to load.
_EXPORTS = {
    "ApprovalDecision": "tools",
    "ApprovalRequest": "tools",
    "Tool": "tools",
    "ToolContext": "tools",
    "ToolError": "tools",
    "ToolRegistry": "tools",
    "tool": "tools",
    "AgentConfig": "agentloop.config",
    "AgentloopError": "agentloop.errors",
    "BackendError": "agentloop.errors",
    "BackendHTTPError": "agentloop.errors",
    "BackendUnavailable": "agentloop.errors",
    "ConfigError": "agentloop.errors",
    "ContextOverflow": "agentloop.errors",
    "ShadowedModuleError": "agentloop.errors",
    "BackendRetry": "agentloop.events",
    "Event": "agentloop.events",
    "EventHandler": "agentloop.events",
    "ReasoningDelta": "agentloop.events",
    "RunFinished": "agentloop.events",
    "TextDelta": "agentloop.events",
    "ToolCallFinished": "agentloop.events",
    "ToolCallStarted": "agentloop.events",
    "TurnFinished": "agentloop.events",
    "Agent": "agentloop.loop",
    "BUILTIN_PROFILES": "agentloop.profiles",
    "Profile": "agentloop.profiles",
    "RunResult": "agentloop.result",
    "StopReason": "agentloop.result",
    "ToolCallRecord": "agentloop.result",
    "Usage": "agentloop.result",
    "arun_agent": "agentloop.run",
    "run_agent": "agentloop.run",
}

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'agentloop' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


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
