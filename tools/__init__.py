"""Tools: how a Python function becomes something a model can call.

`@tool` derives a JSON schema from type hints and the docstring; `Tool.from_schema` takes a
schema from outside (an OpenAI tool dict, an MCP server) as given; a `ToolRegistry` is an
object you build from tools (nothing registers itself on import); `registry.call()` turns
a raw call into a `ToolOutcome` — every failure is a message the model can act on.
Built-in tools (python, terminal, math, ...) are factories in `tools.builtin`.
"""

from tools._arguments import cap_output, parse_arguments, render_result
from tools._registry import ToolRegistry
from tools._server_schema import rejected_tool, schema_for_server
from tools._tool import DEFAULT_MAX_OUTPUT_CHARS, Tool, parse_definition, tool
from tools._types import (
    Approval,
    ApprovalDecision,
    ApprovalRequest,
    Approver,
    ToolContext,
    ToolDefinition,
    ToolError,
    ToolErrorKind,
    ToolOutcome,
    ToolRefused,
    ToolSource,
)
from tools._validate import InvalidArguments, SchemaValidator

__all__ = [
    "DEFAULT_MAX_OUTPUT_CHARS",
    "Approval",
    "ApprovalDecision",
    "ApprovalRequest",
    "Approver",
    "InvalidArguments",
    "SchemaValidator",
    "Tool",
    "ToolContext",
    "ToolDefinition",
    "ToolError",
    "ToolErrorKind",
    "ToolOutcome",
    "ToolRefused",
    "ToolRegistry",
    "ToolSource",
    "cap_output",
    "parse_arguments",
    "parse_definition",
    "rejected_tool",
    "render_result",
    "schema_for_server",
    "tool",
]
