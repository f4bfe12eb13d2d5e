"""`Tool` and the `@tool` decorator: a typed function plus what the model sees of it."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, overload

from tools._schema import ArgsModel, build_args_model, context_parameter, json_schema
from tools._types import Approval, ToolDefinition
from tools._validate import SchemaValidator, validate_with_model

DEFAULT_MAX_OUTPUT_CHARS = 16_000


@dataclass(frozen=True, slots=True)
class Tool:
    """A callable the model may use, with its definition, validator and limits."""

    definition: ToolDefinition
    function: Callable[..., Any]
    args_model: type[ArgsModel] | None = None
    context_param: str | None = None
    timeout: float | None = 60.0
    approval: Approval = "auto"
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS
    schema_validator: SchemaValidator | None = None

    @classmethod
    def from_schema(
        cls,
        definition: Mapping[str, Any] | ToolDefinition,
        function: Callable[..., Any],
        *,
        timeout: float | None = 60.0,
        approval: Approval = "auto",
        max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
    ) -> Tool:
        """A tool whose schema arrives from outside, taken and validated as given.

        Args:
            definition: An OpenAI tool dict (``{"type": "function", "function": {...}}``),
                its inner ``{"name", "description", "parameters"}``, or a `ToolDefinition`.
            function: Called with the validated arguments as keyword arguments (sync or async).
            timeout: Seconds a call may take (None: no limit).
            approval: "auto", "ask" or "deny".
            max_output_chars: Longer results keep their head and tail.

        Raises:
            ValueError: The definition has no name or its parameters are not a JSON schema.
        """
        parsed = (
            definition if isinstance(definition, ToolDefinition) else parse_definition(definition)
        )
        return cls(
            definition=parsed,
            function=function,
            timeout=timeout,
            approval=approval,
            max_output_chars=max_output_chars,
            schema_validator=SchemaValidator(parsed.parameters),
        )

    @property
    def name(self) -> str:
        """The name the model calls the tool by."""
        return self.definition.name

    @property
    def is_async(self) -> bool:
        """True when the function is a coroutine function (run on the loop, not in a thread)."""
        return inspect.iscoroutinefunction(self.function)

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments for the function; raises `InvalidArguments` on a mismatch."""
        if self.schema_validator is not None:
            return self.schema_validator(arguments)
        if self.args_model is not None:
            return validate_with_model(self.args_model, arguments)
        return dict(arguments)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)


def parse_definition(entry: Mapping[str, Any]) -> ToolDefinition:
    """Read an OpenAI tool dict (or its inner ``function`` object) into a `ToolDefinition`.

    Raises:
        ValueError: There is no name, or the parameters are not an object.
    """
    inner = entry.get("function", entry) if entry.get("type", "function") == "function" else None
    if not isinstance(inner, Mapping) or not isinstance(inner.get("name"), str):
        raise ValueError(f"not an OpenAI tool definition (no function name): {dict(entry)!r}")
    parameters = inner.get("parameters") or {"type": "object", "properties": {}}
    if not isinstance(parameters, Mapping):
        raise ValueError(f"tool {inner['name']!r}: parameters must be a JSON schema object")
    return ToolDefinition(
        name=inner["name"],
        description=str(inner.get("description") or ""),
        parameters=dict(parameters),
    )


@overload
def tool(func: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    func: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = 60.0,
    approval: Approval = "auto",
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
) -> Callable[[Callable[..., Any]], Tool]: ...


@overload
def tool(
    func: Callable[..., Any],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = 60.0,
    approval: Approval = "auto",
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
) -> Tool: ...


def tool(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = 60.0,
    approval: Approval = "auto",
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a typed function (sync or async) into a `Tool`.

    The JSON schema comes from the type hints; the description and the parameter
    descriptions come from the Google-style docstring. Usable bare (``@tool``), with options
    (``@tool(timeout=5)``) or as a plain call (``tool(fn, name="x")``).

    Args:
        func: The function to wrap.
        name: The name shown to the model; defaults to the function's name.
        description: Overrides the docstring's description.
        timeout: Seconds a call may take before it becomes a timeout error (None: no limit).
        approval: "auto" runs calls, "ask" asks the run's approver first, "deny" refuses them.
        max_output_chars: Longer results keep their head and tail with a marker between.
    """

    def wrap(fn: Callable[..., Any]) -> Tool:
        tool_name = name or fn.__name__
        model, doc_description = build_args_model(fn, tool_name)
        definition = ToolDefinition(
            name=tool_name,
            description=description if description is not None else doc_description,
            parameters=json_schema(model),
        )
        return Tool(
            definition=definition,
            function=fn,
            args_model=model,
            context_param=context_parameter(fn),
            timeout=timeout,
            approval=approval,
            max_output_chars=max_output_chars,
        )

    if func is not None:
        return wrap(func)
    return wrap
