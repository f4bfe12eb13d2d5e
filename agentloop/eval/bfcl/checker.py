"""Score one BFCL answer by BFCL's AST rules (`bfcl_eval/eval_checker/ast_eval`).

A model's calls are decoded as BFCL's OpenAI function-calling handler decodes them (each
call's arguments through `json.loads`), then:

- irrelevance categories pass when nothing decodes to a call;
- `simple` needs exactly one call; `multiple` needs one call matching the one answer;
  `parallel*` needs as many calls as answers, matched in any order;
- a call matches an answer when the name matches (`.` written as `_`), every required
  parameter is there, no unknown parameter is, every value has the documented type (an
  int is accepted for a float; a value of the answer's own type is taken as a variable)
  and is one of the allowed values, and every answer parameter left out allows `""`.
  Strings compare without case, spaces and `,./-_*^`; lists and dicts element by element.

The rules are kept exactly, quirks included: `tests/eval/bfcl/` runs BFCL's own checker
on the same outputs and requires the same verdict for every case.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from agentloop.eval.bfcl.schema import openai_name

PYTHON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_NESTED = ("array", "tuple")
_IGNORED = re.compile(r"[ \,\.\/\-\_\*\^]")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The checker's answer: `valid`, and when not, BFCL's error type and a reason."""

    valid: bool
    error_type: str = ""
    detail: str = ""


_OK = Verdict(True)


def _fail(error_type: str, detail: str) -> Verdict:
    return Verdict(False, error_type, detail)


def decode_calls(calls: Sequence[tuple[str, str]]) -> list[Any] | None:
    """`[{name: arguments}]` from (name, raw arguments) pairs; None when any fails to parse."""
    try:
        return [{name: json.loads(raw)} for name, raw in calls]
    except (ValueError, TypeError):
        return None


def _call_format(decoded: list[Any]) -> bool:
    return all(
        type(item) is dict and len(item) == 1 and type(next(iter(item.values()))) is dict
        for item in decoded
    )


def judge(
    category: str,
    functions: list[dict[str, Any]],
    calls: Sequence[tuple[str, str]],
    ground_truth: list[dict[str, Any]],
) -> Verdict:
    """Judge the calls of one reply (name, raw JSON arguments) against a BFCL entry."""
    decoded = decode_calls(calls)
    if "irrelevance" in category:
        made_call = decoded is not None and _call_format(decoded) and len(decoded) > 0
        if made_call:
            return _fail("irrelevance_error:decoder_success", "a call was made")
        return _OK
    if decoded is None:
        return _fail("ast_decoder:decoder_failed", "arguments are not valid JSON")
    if not _call_format(decoded):
        return _fail("ast_decoder:decoder_wrong_output_format", "arguments are not an object")
    return ast_check(category, functions, decoded, ground_truth)


def ast_check(
    category: str,
    functions: list[dict[str, Any]],
    output: list[dict[str, Any]],
    answers: list[dict[str, Any]],
) -> Verdict:
    """BFCL's `ast_checker` for Python: dispatch on the category's name."""
    if "parallel" in category:
        return _parallel(functions, output, answers)
    if "multiple" in category:
        if len(output) != len(answers):
            return _fail("multiple_function_checker:wrong_count", "wrong number of calls")
        return _simple(_find(functions, answers[0]), output[0], answers[0])
    if len(output) != 1:
        return _fail("simple_function_checker:wrong_count", "wrong number of calls")
    return _simple(functions[0], output[0], answers[0])


def _find(functions: list[dict[str, Any]], answer: dict[str, Any]) -> dict[str, Any]:
    name = next(iter(answer))
    return next((f for f in functions if f["name"] == name), functions[0])


def _parallel(
    functions: list[dict[str, Any]], output: list[dict[str, Any]], answers: list[dict[str, Any]]
) -> Verdict:
    if len(output) != len(answers):
        return _fail("parallel_function_checker_no_order:wrong_count", "wrong number of calls")
    matched: set[int] = set()
    for number, answer in enumerate(answers):
        function = _find(functions, answer)
        found = next(
            (
                index
                for index, call in enumerate(output)
                if index not in matched and _simple(function, call, answer).valid
            ),
            None,
        )
        if found is None:
            return _fail(
                "parallel_function_checker_no_order:cannot_find_match",
                f"no call matches answer {number} ({next(iter(answer))})",
            )
        matched.add(found)
    return _OK


def _simple(function: dict[str, Any], call: dict[str, Any], answer: dict[str, Any]) -> Verdict:
    possible: dict[str, list[Any]] = next(iter(answer.values()))
    name = openai_name(function["name"])
    if name not in call:
        return _fail("simple_function_checker:wrong_func_name", f"{name} was not called")
    params: dict[str, Any] = call[name]
    details: dict[str, Any] = function["parameters"]["properties"]
    for required in function["parameters"].get("required", []):
        if required not in params:
            return _fail("simple_function_checker:missing_required", f"{required} is missing")
    for param, value in params.items():
        if param not in details or param not in possible:
            return _fail("simple_function_checker:unexpected_param", f"unexpected {param}")
        verdict = _check_param(param, value, details[param], possible[param])
        if not verdict.valid:
            return verdict
    for param, allowed in possible.items():
        if param not in params and "" not in allowed:
            return _fail("simple_function_checker:missing_optional", f"{param} is missing")
    return _OK


def _check_param(param: str, value: Any, detail: dict[str, Any], allowed: list[Any]) -> Verdict:
    described = detail["type"]
    expected = PYTHON_TYPES[described]
    nested = PYTHON_TYPES[detail["items"]["type"]] if described in _NESTED else None
    if described == "float" and type(value) is int:
        value = float(value)
    typed, is_variable = _type_check(value, allowed, expected, nested)
    if not typed:
        return _fail("type_error:simple", f"{param}: {type(value).__name__} is not {described}")
    ok = True
    if not is_variable:
        if expected is dict:
            ok = _dict_matches(value, allowed)
        elif expected is list and nested is dict:
            ok = _list_of_dicts_matches(value, allowed)
        elif expected is str:
            ok = _standard(value) in [_standard(a) for a in allowed if type(a) is str]
        elif expected is list:
            ok = _standard_list(value) in [_standard_list(a) for a in allowed]
        else:
            ok = value in allowed
    else:
        ok = value in allowed
    return _OK if ok else _fail("value_error", f"{param}={value!r} is not one of {allowed!r}")


def _answer_type(allowed: Sequence[Any]) -> type | None:
    return next((type(a) for a in allowed if a != ""), None)


def _type_check(
    value: Any, allowed: Sequence[Any], expected: type, nested: type | None
) -> tuple[bool, bool]:
    """(type is acceptable, value is taken as a variable), as BFCL's `type_checker`."""
    answer_type = _answer_type(allowed)
    is_variable = answer_type is not None and answer_type is not expected
    if type(value) is expected:
        if nested is None:
            return True, is_variable
        items = cast(list[Any], value)
        for item in allowed:
            if type(item) is not list or all(_type_check(v, item, nested, None)[0] for v in items):
                return True, is_variable
        return False, False
    if answer_type is not None and type(value) is answer_type:
        return True, True
    return False, False


def _standard(text: str) -> str:
    return _IGNORED.sub("", text).lower().replace("'", '"')


def _standard_list(items: Any) -> list[Any]:
    return [_standard(v) if type(v) is str else v for v in items]


def _dict_matches(value: Any, allowed: Sequence[Any]) -> bool:
    for answer in allowed:
        if answer == "":
            continue
        if _one_dict_matches(value, answer):
            return True
    return False


def _one_dict_matches(value: Any, answer: dict[str, Any]) -> bool:
    if type(value) is not dict:
        return False
    for key, item in value.items():
        if key not in answer:
            return False
        standard = _standard(item) if type(item) is str else item
        if standard not in _standard_list(answer[key]):
            return False
    return all(key in value or "" in options for key, options in answer.items())


def _list_of_dicts_matches(value: list[Any], allowed: Sequence[Any]) -> bool:
    for answer in allowed:
        if len(value) != len(answer):
            continue
        if all(
            _dict_matches(item, [expected]) for item, expected in zip(value, answer, strict=True)
        ):
            return True
    return False
