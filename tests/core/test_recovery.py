"""Item 7: calls written as text, in each documented format, become structured calls."""

from __future__ import annotations

import json

import pytest

from agentloop.recovery import recover_calls, text_call_problem

SCHEMAS = {
    "add_number": {"properties": {"a": {"type": "number"}, "b": {"type": "number"}}},
    "python": {"properties": {"code": {"type": "string"}}},
    "write_a_story": {"properties": {"topic": {"type": "string"}}},
    "current_date": {"properties": {}},
}


def names_and_args(text: str) -> list[tuple[str, dict[str, object]]]:
    calls, _ = recover_calls(text, SCHEMAS)
    return [(c.name, json.loads(c.arguments)) for c in calls]


def test_glm47_xml_call() -> None:
    text = (
        "<tool_call>add_number<arg_key>a</arg_key><arg_value>1234</arg_value>"
        "<arg_key>b</arg_key><arg_value>5678</arg_value></tool_call>"
    )
    assert names_and_args(text) == [("add_number", {"a": 1234, "b": 5678})]


def test_glm47_keeps_string_parameters_as_text() -> None:
    text = (
        "<tool_call>write_a_story\n<arg_key>topic</arg_key>\n<arg_value>42</arg_value>\n</tool_call>"
        "<tool_call>python<arg_key>code</arg_key>"
        "<arg_value>\nprint({'a': 1})\n</arg_value></tool_call>"
    )
    assert names_and_args(text) == [
        ("write_a_story", {"topic": "42"}),
        ("python", {"code": "print({'a': 1})"}),
    ]


def test_glm47_no_argument_form_and_several_in_a_row() -> None:
    text = "Checking.<tool_call>current_date</tool_call><tool_call>current_date</tool_call>"
    calls, rest = recover_calls(text, SCHEMAS)
    assert [c.name for c in calls] == ["current_date", "current_date"]
    assert [c.arguments for c in calls] == ["{}", "{}"]
    assert rest == "Checking."
    assert len({c.id for c in calls}) == 2


def test_hermes_qwen_json_in_tags() -> None:
    text = '<tool_call>\n{"name": "add_number", "arguments": {"a": 1, "b": 2}}\n</tool_call>'
    assert names_and_args(text) == [("add_number", {"a": 1, "b": 2})]


def test_fenced_json_block() -> None:
    text = 'Sure:\n```json\n{\n  "name": "python",\n  "arguments": {"code": "print(2)"}\n}\n```'
    calls, rest = recover_calls(text, SCHEMAS)
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("python", {"code": "print(2)"})]
    assert rest == "Sure:"


def test_bare_json_and_a_list_of_calls() -> None:
    assert names_and_args('{"name": "add_number", "arguments": {"a": 1, "b": 1}}') == [
        ("add_number", {"a": 1, "b": 1})
    ]
    listed = (
        '[{"name": "add_number", "arguments": {"a": 2, "b": 3}}, '
        '{"name": "add_number", "parameters": {"a": 10, "b": 20}}]'
    )
    assert names_and_args(listed) == [
        ("add_number", {"a": 2, "b": 3}),
        ("add_number", {"a": 10, "b": 20}),
    ]


def test_arguments_as_a_json_string() -> None:
    text = '{"name": "add_number", "arguments": "{\\"a\\": 4, \\"b\\": 5}"}'
    assert names_and_args(text) == [("add_number", {"a": 4, "b": 5})]


def test_functions_prefix_form() -> None:
    assert names_and_args('functions.add_number:\n{"a": 7, "b": 8}') == [
        ("add_number", {"a": 7, "b": 8})
    ]


@pytest.mark.parametrize(
    "text",
    [
        'Here is an example object: {"name": "Alice", "arguments": {"age": 3}}',
        "<tool_call>rm_rf<arg_key>path</arg_key><arg_value>/</arg_value></tool_call>",
        "Use add_number with a=1 and b=2.",
        "{not json at all",
    ],
)
def test_only_known_tools_count(text: str) -> None:
    calls, rest = recover_calls(text, SCHEMAS)
    assert calls == [] and rest == text


def test_recorded_runaway_content_yields_the_complete_calls() -> None:
    # The native template with tool_choice=required ran to max_tokens (recorded).
    text = (
        '{"name": "add_number", "arguments": {"a": 1234, "b": 5678}}.json\n\n'
        '{"name": "python", "arguments": {"code": "1234 + 5678"}}.json\n\n{"name": "pyth'
    )
    assert [name for name, _ in names_and_args(text)] == ["add_number", "python"]


def test_a_known_call_with_arguments_that_are_not_an_object_is_still_a_call() -> None:
    """The 0.5B answered `{"name": "current_date", "arguments": "2023-01-15"}`: a tool
    without parameters runs; any other gets the arguments as written, for the registry to
    say what it takes."""
    calls, rest = recover_calls('{"name": "current_date", "arguments": "2023-01-15"}', SCHEMAS)
    assert [(c.name, c.arguments) for c in calls] == [("current_date", "{}")] and rest == ""
    calls, _ = recover_calls('{"name": "add_number", "arguments": "4 and 5"}', SCHEMAS)
    assert [(c.name, c.arguments) for c in calls] == [("add_number", "4 and 5")]
    calls, _ = recover_calls('{"name": "add_number", "arguments": [4, 5]}', SCHEMAS)
    assert [(c.name, c.arguments) for c in calls] == [("add_number", "[4, 5]")]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        # Seen from the 0.5B as whole answers: a command named as a tool, a made-up tool.
        ('{"name": "rm", "arguments": {"command": "rm important.txt"}}', "rm is not one"),
        ('```json\n{"name": "today_date", "arguments": {}}\n```', "today_date is not one"),
        ('<tool_call>\n[{"name": "hello", "parameters": {"name": "World"}}]', "hello is not"),
        # Multi-line code as concatenated strings: the right tool, JSON that never parses.
        (
            '{\n"name": "python",\n"arguments": {\n"code": "def f(n):"\n"    return n"\n}\n}',
            "valid JSON",
        ),
    ],
)
def test_a_reply_that_is_only_an_unusable_text_call_says_what_to_send(
    text: str, words: str
) -> None:
    assert recover_calls(text, SCHEMAS) == ([], text)
    problem = text_call_problem(text, SCHEMAS)
    assert problem is not None and words in problem
    if "not one" in words:
        assert "add_number, current_date, python, write_a_story" in problem


@pytest.mark.parametrize(
    "text",
    [
        'To call a tool, send {"name": "rm", "arguments": {}} to the server.',
        "The answer is 42.",
        '{"name": "Alice", "age": 3}',
        "",
    ],
)
def test_prose_and_plain_json_are_not_text_calls(text: str) -> None:
    assert text_call_problem(text, SCHEMAS) is None
