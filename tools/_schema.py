"""Derive a tool's JSON schema and argument validator from a typed Python function."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from tools._types import ToolContext

_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?|Notes?):\s*$"
)
_PARAM = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


class ArgsModel(BaseModel):
    """Base of every generated argument model: lax coercion both ways, extra keys rejected."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its description and per-parameter descriptions."""
    if not doc:
        return "", {}
    summary: list[str] = []
    params: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    param_indent: int | None = None
    for line in inspect.cleandoc(doc).splitlines():
        header = _SECTION.match(line)
        if header:
            section, current, param_indent = header.group(1), None, None
        elif section is None:
            summary.append(line)
        elif section in ("Args", "Arguments", "Parameters") and line.strip():
            indent = len(line) - len(line.lstrip())
            match = _PARAM.match(line)
            if match and (param_indent is None or indent <= param_indent):
                param_indent, current = indent, match.group(1)
                params[current] = match.group(2).strip()
            elif current is not None:
                params[current] = f"{params[current]} {line.strip()}".strip()
    return "\n".join(summary).strip(), params


def context_parameter(fn: Callable[..., Any]) -> str | None:
    """The name of the parameter annotated `ToolContext`, if the function declares one."""
    hints = _hints(fn)
    for name in inspect.signature(fn).parameters:
        if hints.get(name) is ToolContext:
            return name
    return None


def build_args_model(fn: Callable[..., Any], name: str) -> tuple[type[ArgsModel], str]:
    """Build the pydantic model of a function's arguments and return it with its description."""
    description, param_docs = parse_docstring(inspect.getdoc(fn))
    hints = _hints(fn)
    fields: dict[str, Any] = {}
    for pname, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"tool {name!r}: *args and **kwargs cannot be described to a model")
        annotation = hints.get(pname, Any)
        if annotation is ToolContext:
            continue
        default = ... if param.default is param.empty else param.default
        fields[pname] = (annotation, Field(default, description=param_docs.get(pname)))
    model = create_model(f"{name}_args", __base__=ArgsModel, **fields)
    return model, description


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema, without pydantic's titles (noise for a small model)."""
    schema = model.model_json_schema()
    _strip_titles(schema)
    schema.setdefault("properties", {})
    schema["additionalProperties"] = False
    return schema


def _strip_titles(node: Any) -> None:
    if isinstance(node, dict):
        title = node.get("title")
        if isinstance(title, str):
            del node["title"]
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for prop in value.values():
                    _strip_titles(prop)
            else:
                _strip_titles(value)
    elif isinstance(node, list):
        for item in node:
            _strip_titles(item)


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return get_type_hints(fn, localns={"ToolContext": ToolContext})
    except (NameError, TypeError):
        raw = dict(getattr(fn, "__annotations__", {}))
        return {k: ToolContext if v == "ToolContext" else v for k, v in raw.items()}
