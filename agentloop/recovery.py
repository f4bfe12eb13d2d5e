"""Recover tool calls that a server left as text in the content or the reasoning.

Formats, all seen from local models:
- GLM-4.7: ``<tool_call>NAME<arg_key>K</arg_key><arg_value>V</arg_value>…</tool_call>``
  (and ``<tool_call>NAME</tool_call>`` with no arguments; several in a row).
- Hermes / Qwen: ``<tool_call>{"name": …, "arguments": {…}}</tool_call>``.
- A JSON object ``{"name": …, "arguments": {…}}``, bare or in a ```json fence, one or
  several (Qwen2.5-Coder with its own template), or a list of them.
- ``functions.NAME:`` followed by a JSON object (llama-cpp-python's chatml-function-calling).
Only names of known tools count, so prose that merely mentions JSON is left alone. A call
to a known tool whose arguments are not an object (`"arguments": "2023-01-15"`, seen from
the 0.5B) is still a call: a tool without parameters runs, any other gets the registry's
error saying which arguments it takes.

A reply that is nothing but such a call, yet cannot be recovered (a name that is no tool,
JSON that does not parse: the 0.5B wrote `{"name": "rm", ...}` and broken multi-line code),
gets `text_call_problem`: words telling the model what to send instead.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from agentloop.backend.types import RawToolCall

_TOOL_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
_GLM_NAME = re.compile(r"\s*([^\s<>{}]+)\s*")
_GLM_ARG = re.compile(r"<arg_key>(.*?)</arg_key>\s*<arg_value>(.*?)(?:</arg_value>|$)", re.DOTALL)
_FUNCTIONS_PREFIX = re.compile(r"functions\.([A-Za-z_][\w.-]*):\s*")
_FENCE = re.compile(r"```(?:json|tool_call|tool)?[ \t]*\n?|```")
_CALL_TAGS = re.compile(r"</?(?:tool_call|tools)>")
_TEXT_CALL = re.compile(
    r'\[?\s*\{\s*"name"\s*:\s*"([^"\n]{1,64})"\s*,\s*"(?:arguments|parameters)"'
)


@dataclass(frozen=True, slots=True)
class _Found:
    start: int
    end: int
    name: str
    arguments: dict[str, Any] | str  # a string: raw arguments that are not a JSON object


def recover_calls(
    text: str, schemas: Mapping[str, Mapping[str, Any]]
) -> tuple[list[RawToolCall], str]:
    """Find calls to known tools in `text`; return them and the text without them.

    Args:
        text: Content or reasoning of a reply that had no structured calls.
        schemas: Tool name -> JSON schema of its parameters (only these names count).
    """
    if not text or not schemas:
        return [], text
    found = list(_xml_calls(text, schemas)) or list(_json_calls(text, schemas))
    if not found:
        return [], text
    calls = [
        RawToolCall(f"call_{secrets.token_hex(8)}", f.name, _raw(f.arguments))
        for f in sorted(found, key=lambda f: f.start)
    ]
    return calls, _remove_spans(text, found)


def text_call_problem(text: str, schemas: Mapping[str, Mapping[str, Any]]) -> str | None:
    """What is wrong with a reply that is only a tool call written as text, which
    `recover_calls` could not take (None: the reply is not one)."""
    match = _TEXT_CALL.match(_FENCE.sub("", _CALL_TAGS.sub("", text)).strip())
    if match is None or not schemas:
        return None
    name = match.group(1)
    if name in schemas:
        return (
            f"Your reply wrote a call of {name} as text, and it is not valid JSON, so it "
            "was not run. Send it as a tool call whose arguments are one JSON object."
        )
    return (
        f"Your reply wrote a call of {name} as text, but {name} is not one of your tools "
        f"({', '.join(sorted(schemas))}). Call one of them, or answer the user in plain text."
    )


def _xml_calls(text: str, schemas: Mapping[str, Mapping[str, Any]]) -> Iterator[_Found]:
    for match in _TOOL_CALL.finditer(text):
        body = match.group(1).strip()
        call = _json_call(body, schemas) if body.startswith("{") else _glm_call(body, schemas)
        if call is not None:
            yield _Found(match.start(), match.end(), call[0], call[1])


def _glm_call(
    body: str, schemas: Mapping[str, Mapping[str, Any]]
) -> tuple[str, dict[str, Any]] | None:
    head = _GLM_NAME.match(body)
    if head is None or head.group(1) not in schemas:
        return None
    name = head.group(1)
    properties = schemas[name].get("properties", {})
    arguments = {
        key.strip(): _glm_value(value, properties.get(key.strip(), {}))
        for key, value in _GLM_ARG.findall(body[head.end() :])
    }
    return name, arguments


def _glm_value(raw: str, schema: Mapping[str, Any]) -> Any:
    """GLM writes every value as text: decode JSON unless the parameter is a string."""
    value = raw.strip()
    if schema.get("type") == "string":
        return raw.strip("\n")
    try:
        return json.loads(value)
    except ValueError:
        return value


def _json_call(
    body: str, schemas: Mapping[str, Mapping[str, Any]]
) -> tuple[str, dict[str, Any] | str] | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return _as_call(value, schemas)


def _raw(arguments: dict[str, Any] | str) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _as_call(
    value: Any, schemas: Mapping[str, Mapping[str, Any]]
) -> tuple[str, dict[str, Any] | str] | None:
    if not isinstance(value, dict):
        return None
    name = value.get("name")
    if not isinstance(name, str) or name not in schemas:
        return None
    arguments = value.get("arguments", value.get("parameters", {}))
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):  # not JSON: kept as written
            arguments = json.loads(arguments) if arguments.strip() else {}
    if arguments is None:
        arguments = {}
    if isinstance(arguments, dict):
        return name, arguments
    if not schemas[name].get("properties"):
        return name, {}  # a tool without parameters: what came instead does not matter
    return name, arguments if isinstance(arguments, str) else json.dumps(arguments)


def _json_calls(text: str, schemas: Mapping[str, Mapping[str, Any]]) -> Iterator[_Found]:
    decoder = json.JSONDecoder()
    position = 0
    while True:
        start = _next_json_start(text, position)
        if start < 0:
            return
        prefix = _FUNCTIONS_PREFIX.search(text, max(0, start - 80), start)
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            position = start + 1
            continue
        items = value if isinstance(value, list) else [value]
        calls = [c for c in (_as_call(item, schemas) for item in items) if c is not None]
        if (
            prefix
            and prefix.end() == start
            and prefix.group(1) in schemas
            and isinstance(value, dict)
        ):
            calls = [(prefix.group(1), value)]
            start = prefix.start()
        for name, arguments in calls:
            yield _Found(start, end, name, arguments)
        position = end if calls else start + 1


def _next_json_start(text: str, position: int) -> int:
    brace, bracket = text.find("{", position), text.find("[", position)
    candidates = [i for i in (brace, bracket) if i >= 0]
    return min(candidates) if candidates else -1


def _remove_spans(text: str, found: list[_Found]) -> str:
    pieces: list[str] = []
    cursor = 0
    for item in sorted(found, key=lambda f: f.start):
        if item.start >= cursor:
            pieces.append(text[cursor : item.start])
            cursor = item.end
    pieces.append(text[cursor:])
    leftover = _FENCE.sub("", "".join(pieces))
    return leftover.strip()
