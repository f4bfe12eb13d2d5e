"""BFCL function docs as OpenAI tools, converted the way BFCL's OpenAI handler does it.

BFCL's `convert_to_tool` (OpenAI completions style) with `GORILLA_TO_OPENAPI`: the Python
hint is appended to the description, `.` in a name becomes `_`, the top level becomes an
`object`, BFCL types map to JSON Schema types (unknown ones to `string`), a `float` gains
`format: float` and a note in its description, and nested properties/items are mapped too.
"""

from __future__ import annotations

import copy
import re
from typing import Any

PYTHON_HINT = " Note that the provided function is in Python 3 syntax."

GORILLA_TO_OPENAPI: dict[str, str] = {
    "integer": "integer",
    "number": "number",
    "float": "number",
    "string": "string",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "dict": "object",
    "object": "object",
    "tuple": "array",
    "any": "string",
    "byte": "integer",
    "short": "integer",
    "long": "integer",
    "double": "number",
    "char": "string",
    "ArrayList": "array",
    "Array": "array",
    "HashMap": "object",
}


def openai_name(name: str) -> str:
    """The tool name an OpenAI-style server accepts (`math.hypot` -> `math_hypot`)."""
    return re.sub(r"\.", "_", name)


def _cast_properties(properties: dict[str, Any]) -> dict[str, Any]:
    for value in properties.values():
        if "type" not in value:
            value["type"] = "string"
        else:
            kind = value["type"]
            if kind == "float":
                value["format"] = "float"
                value["description"] = value.get("description", "") + " This is a float type value."
            value["type"] = GORILLA_TO_OPENAPI.get(kind, "string")
        if value["type"] in ("array", "object"):
            _cast_nested(value)
    return properties


def _cast_nested(value: dict[str, Any]) -> None:
    if "properties" in value:
        value["properties"] = _cast_properties(value["properties"])
        return
    items = value.get("items")
    if items is None:
        return
    items["type"] = GORILLA_TO_OPENAPI[items["type"]]
    if items["type"] == "array" and "items" in items:
        inner = items["items"]
        inner["type"] = GORILLA_TO_OPENAPI[inner["type"]]
    elif items["type"] == "object" and "properties" in items:
        items["properties"] = _cast_properties(items["properties"])


def to_openai_tool(function: dict[str, Any]) -> dict[str, Any]:
    """One BFCL function doc as an OpenAI `{"type": "function", "function": ...}` tool.

    The input is not modified.
    """
    item = copy.deepcopy(function)
    item["description"] = item.get("description", "") + PYTHON_HINT
    item["name"] = openai_name(item["name"])
    parameters = item.setdefault("parameters", {})
    parameters["type"] = "object"
    parameters["properties"] = _cast_properties(parameters.get("properties", {}))
    return {"type": "function", "function": item}
