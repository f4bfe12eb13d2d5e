"""The copy of a schema sent to the server: what llama.cpp's grammar and vLLM accept."""

from __future__ import annotations

from typing import Any

from tools import Tool, ToolRegistry, rejected_tool, schema_for_server

BOOKING: dict[str, Any] = {
    "type": "object",
    "$defs": {
        "Guest": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "email": {"type": "string", "format": "email"},
            },
            "required": ["name", "email"],
        }
    },
    "properties": {
        "guest": {"$ref": "#/$defs/Guest", "description": "who"},
        "day": {"type": "string", "format": "date"},
        "nights": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
        "code": {"type": "string", "pattern": "[A-Z]{3}", "maxLength": 100000, "minLength": 3},
        "tags": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "odd": {"not": {"type": "null"}, "if": {"type": "string"}, "then": {}},
    },
    "required": ["guest", "day", "code", "ghost"],
}


def test_refs_are_inlined_and_defs_dropped() -> None:
    sent = schema_for_server(BOOKING)
    assert "$defs" not in sent
    guest = sent["properties"]["guest"]
    assert guest["type"] == "object" and guest["description"] == "who"
    assert guest["properties"]["email"] == {"type": "string"}
    assert guest["additionalProperties"] is False


def test_unsupported_keywords_and_huge_bounds_are_dropped() -> None:
    props = schema_for_server(BOOKING)["properties"]
    assert props["day"] == {"type": "string"}
    assert props["code"] == {"type": "string", "minLength": 3}
    assert props["odd"] == {}


def test_unions_are_simplified() -> None:
    props = schema_for_server(BOOKING)["properties"]
    assert props["nights"] == {"type": ["integer", "null"], "default": None}
    assert props["tags"] == {
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
    }


def test_objects_are_closed_and_required_lists_only_known_properties() -> None:
    sent = schema_for_server(BOOKING)
    assert sent["additionalProperties"] is False
    assert sent["required"] == ["guest", "day", "code"]


def test_explicit_open_objects_stay_open() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {}},
        "additionalProperties": {"type": "integer"},
    }
    assert schema_for_server(schema)["additionalProperties"] == {"type": "integer"}


def test_recursive_refs_are_cut_after_a_few_levels() -> None:
    schema = {
        "type": "object",
        "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
        "properties": {"head": {"$ref": "#/$defs/Node"}},
    }
    sent = schema_for_server(schema)
    depth, node = 0, sent["properties"]["head"]
    while node.get("properties", {}).get("next"):
        node, depth = node["properties"]["next"], depth + 1
    assert 2 <= depth <= 4
    assert "$ref" not in str(sent)


def test_the_original_is_untouched_and_still_used_for_validation() -> None:
    registry = ToolRegistry([Tool.from_schema({"name": "book", "parameters": BOOKING}, dict)])
    sent = registry.definitions()[0]["function"]["parameters"]
    assert "$defs" in BOOKING and "format" not in str(sent)
    assert registry.get("book").definition.parameters == BOOKING  # type: ignore[union-attr]


def test_rejected_tool_is_found_from_a_quoted_fragment_or_name() -> None:
    definitions = [
        {"type": "function", "function": {"name": "ok", "parameters": {"type": "object"}}},
        {
            "type": "function",
            "function": {
                "name": "bad",
                "parameters": {"type": "object", "properties": {"x": {"type": "strange"}}},
            },
        },
    ]
    body = 'JSON schema conversion failed:\nUnrecognized schema: {"type":"strange"}'
    assert rejected_tool(body, definitions) == "bad"
    assert rejected_tool("tool 'ok' has an invalid schema", definitions) == "ok"
    assert rejected_tool("context overflow", definitions) is None


def test_rejected_tool_reads_llama_server_400_bodies() -> None:
    # Bodies as llama-server (llama-cpp-python 0.3.36's build) answers them.
    remote = {"type": "object", "properties": {"g": {"$ref": "https://example.invalid/s.json"}}}
    missing = {"type": "object", "properties": {"h": {"$ref": "#/$defs/Missing"}}}
    definitions = [
        {"type": "function", "function": {"name": "fine", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "remote", "parameters": remote}},
        {"type": "function", "function": {"name": "missing", "parameters": missing}},
    ]
    prefix = "Unable to generate parser for this template. Automatic parser generation failed: "
    remote_body = (
        f"{prefix}JSON schema error at #/properties/g: unsupported $ref "
        "https://example.invalid/s.json, only references into the same document are supported"
    )
    missing_body = f"{prefix}JSON schema error at #/properties/h: cannot resolve $ref x, nope"
    assert rejected_tool(remote_body, definitions) == "remote"
    assert rejected_tool(missing_body, definitions) == "missing"  # by the pointer alone
