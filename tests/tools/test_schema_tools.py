"""Tools from outside: OpenAI dicts + a function map, plain functions, `Tool.from_schema`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.common_tools import TUTORIAL_ADD_NUMBER, TUTORIAL_MAP_FN
from tools import Tool, ToolContext, ToolOutcome, ToolRegistry, tool

ADD_NUMBER: dict[str, Any] = TUTORIAL_ADD_NUMBER
MAP_FN = TUTORIAL_MAP_FN


def call(registry: ToolRegistry, name: str, args: object) -> ToolOutcome:
    return asyncio.run(registry.call(name, args, context=ToolContext()))  # type: ignore[arg-type]


def test_tutorial_dict_runs_with_numbers_coerced_to_strings() -> None:
    registry = ToolRegistry([ADD_NUMBER], functions=MAP_FN)
    outcome = call(registry, "add_number", '{"a": 1234, "b": "5678"}')
    assert outcome.ok, outcome.content
    assert outcome.content == "6912"


def test_tutorial_dict_is_sent_with_its_description_and_types() -> None:
    registry = ToolRegistry([ADD_NUMBER], functions=MAP_FN)
    [sent] = registry.definitions()
    assert sent["function"]["description"] == "将两个数字相加"
    props = sent["function"]["parameters"]["properties"]
    assert props["a"] == {"type": "string", "description": "第一个数字"}


def test_missing_argument_is_a_model_facing_error() -> None:
    registry = ToolRegistry([ADD_NUMBER], functions=MAP_FN)
    outcome = call(registry, "add_number", '{"a": "1"}')
    assert outcome.error == "invalid_arguments"
    assert "'b' is a required property" in outcome.content
    assert "Expected: {a: string, b: string}" in outcome.content


def test_numbers_in_strings_are_coerced_for_number_schemas() -> None:
    seen: dict[str, Any] = {}

    def scale(x: Any, factor: Any, exact: Any = False) -> str:
        seen.update(x=x, factor=factor, exact=exact)
        return "ok"

    definition = {
        "name": "scale",
        "description": "Scale x.",
        "parameters": {
            "type": "object",
            "properties": {
                "x": {"type": "number"},
                "factor": {"type": "integer"},
                "exact": {"type": "boolean"},
            },
            "required": ["x", "factor"],
            "additionalProperties": False,
        },
    }
    registry = ToolRegistry([Tool.from_schema(definition, scale)])
    outcome = call(registry, "scale", '{"x": "2.5", "factor": "3", "exact": "true"}')
    assert outcome.ok, outcome.content
    assert seen == {"x": 2.5, "factor": 3, "exact": True}
    bad = call(registry, "scale", '{"x": "abc", "factor": 1}')
    assert bad.error == "invalid_arguments"
    assert "'abc' is not of type 'number'" in bad.content
    extra = call(registry, "scale", '{"x": 1, "factor": 1, "y": 2}')
    assert extra.error == "invalid_arguments" and "'y' was unexpected" in extra.content


def test_nested_values_are_validated_against_the_schema_as_given() -> None:
    definition = {
        "name": "tag",
        "parameters": {
            "type": "object",
            "properties": {
                "labels": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "kind": {"enum": ["a", "b"]},
            },
            "required": ["labels", "kind"],
        },
    }
    registry = ToolRegistry([Tool.from_schema(definition, lambda labels, kind: labels)])
    assert call(registry, "tag", {"labels": [1, "x"], "kind": "a"}).content == '["1", "x"]'
    wrong = call(registry, "tag", {"labels": [], "kind": "c"})
    assert wrong.error == "invalid_arguments"
    assert "labels" in wrong.content and "'c' is not one of ['a', 'b']" in wrong.content


def test_async_functions_and_tool_errors_work_as_for_typed_tools() -> None:
    async def lookup(key: str) -> str:
        await asyncio.sleep(0)
        if key == "missing":
            raise KeyError(key)
        return key.upper()

    definition = {
        "name": "lookup",
        "parameters": {"type": "object", "properties": {"key": {"type": "string"}}},
    }
    registry = ToolRegistry([Tool.from_schema(definition, lookup)])
    assert call(registry, "lookup", {"key": "k"}).content == "K"
    failed = call(registry, "lookup", {"key": "missing"})
    assert failed.error == "tool_failed" and "KeyError" in failed.content


def test_plain_typed_functions_are_accepted() -> None:
    def multiply(a: float, b: float) -> float:
        """Multiply two numbers."""
        return a * b

    registry = ToolRegistry([multiply])
    assert registry.names() == ["multiply"]
    assert registry.definitions()[0]["function"]["description"] == "Multiply two numbers."
    assert call(registry, "multiply", '{"a": "3", "b": 4}').content == "12"


def test_a_dict_without_its_function_says_what_to_pass() -> None:
    with pytest.raises(ValueError, match=r"functions=\{'add_number': fn\}"):
        ToolRegistry([ADD_NUMBER])


def test_things_that_are_not_tools_are_refused() -> None:
    with pytest.raises(TypeError, match="expected a Tool, a typed function"):
        ToolRegistry([42])


def test_invalid_schema_is_refused_when_the_tool_is_made() -> None:
    definition = {
        "name": "x",
        "parameters": {"type": "object", "properties": {"a": {"type": "nope"}}},
    }
    with pytest.raises(ValueError, match="not a valid JSON schema"):
        Tool.from_schema(definition, lambda a: a)


def test_typed_tools_keep_their_messages() -> None:
    @tool
    def half(n: int) -> float:
        """Half of n."""
        return n / 2

    registry = ToolRegistry([half])
    outcome = call(registry, "half", '{"n": "x"}')
    assert outcome.error == "invalid_arguments"
    assert "n: Input should be a valid integer" in outcome.content


def test_a_ref_to_another_document_is_never_fetched() -> None:
    import socket

    from tools._validate import SchemaValidator

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("validation tried to reach the network")

    schema = {
        "type": "object",
        "properties": {"r": {"$ref": "https://example.invalid/r.json"}, "n": {"type": "number"}},
    }
    original = socket.getaddrinfo
    socket.getaddrinfo = no_network  # type: ignore[assignment]
    try:
        checked = SchemaValidator(schema)({"r": {"x": 1}, "n": "3"})
    finally:
        socket.getaddrinfo = original
    assert checked["r"] == {"x": 1} and checked["n"] == 3, "the rest is still checked"
