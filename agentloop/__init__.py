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

# The one list of public names -> the module that defines each. Imported on first use, so that
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
    "OutputInvalid": "agentloop.errors",
    "ShadowedModuleError": "agentloop.errors",
    "BackendInfo": "agentloop.backend",
    "BackendRetry": "agentloop.events",
    "ContextCompacted": "agentloop.events",
    "RunWarning": "agentloop.events",
    "PromptProgress": "agentloop.events",
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
    "RunStream": "agentloop.stream",
    "StopReason": "agentloop.result",
    "ToolCallRecord": "agentloop.result",
    "Usage": "agentloop.result",
    "arun_agent": "agentloop.run",
    "run_agent": "agentloop.run",
}

if TYPE_CHECKING:  # the same names, for type checkers (`X as X` marks a re-export)
    from agentloop.backend import BackendInfo as BackendInfo
    from agentloop.config import AgentConfig as AgentConfig
    from agentloop.errors import AgentloopError as AgentloopError
    from agentloop.errors import BackendError as BackendError
    from agentloop.errors import BackendHTTPError as BackendHTTPError
    from agentloop.errors import BackendUnavailable as BackendUnavailable
    from agentloop.errors import ConfigError as ConfigError
    from agentloop.errors import ContextOverflow as ContextOverflow
    from agentloop.errors import OutputInvalid as OutputInvalid
    from agentloop.errors import ShadowedModuleError as ShadowedModuleError
    from agentloop.events import BackendRetry as BackendRetry
    from agentloop.events import ContextCompacted as ContextCompacted
    from agentloop.events import Event as Event
    from agentloop.events import EventHandler as EventHandler
    from agentloop.events import PromptProgress as PromptProgress
    from agentloop.events import ReasoningDelta as ReasoningDelta
    from agentloop.events import RunFinished as RunFinished
    from agentloop.events import RunWarning as RunWarning
    from agentloop.events import TextDelta as TextDelta
    from agentloop.events import ToolCallFinished as ToolCallFinished
    from agentloop.events import ToolCallStarted as ToolCallStarted
    from agentloop.events import TurnFinished as TurnFinished
    from agentloop.loop import Agent as Agent
    from agentloop.profiles import BUILTIN_PROFILES as BUILTIN_PROFILES
    from agentloop.profiles import Profile as Profile
    from agentloop.result import RunResult as RunResult
    from agentloop.result import StopReason as StopReason
    from agentloop.result import ToolCallRecord as ToolCallRecord
    from agentloop.result import Usage as Usage
    from agentloop.run import arun_agent as arun_agent
    from agentloop.run import run_agent as run_agent
    from agentloop.stream import RunStream as RunStream
    from tools import ApprovalDecision as ApprovalDecision
    from tools import ApprovalRequest as ApprovalRequest
    from tools import Tool as Tool
    from tools import ToolContext as ToolContext
    from tools import ToolError as ToolError
    from tools import ToolRegistry as ToolRegistry
    from tools import tool as tool


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

__all__ = list(_EXPORTS)
