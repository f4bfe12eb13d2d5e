"""Our checker and BFCL's own give the same verdict on the same model outputs: right
answers, and answers made wrong on purpose in every way the rules care about."""

from __future__ import annotations

import copy
import json
import random
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentloop.eval.bfcl.checker import judge
from agentloop.eval.bfcl.data import CATEGORIES, Entry, load_category
from agentloop.eval.bfcl.schema import openai_name
from tests.eval.bfcl.conftest import FC_MODEL

PER_CATEGORY = 60
Calls = list[tuple[str, str]]


def bfcl_verdict(ref: types.SimpleNamespace, entry: Entry, calls: Calls) -> bool:
    """BFCL's eval runner for an OpenAI FC model: decode each call with `json.loads`
    (as `OpenAICompletionsHandler.decode_ast`), then the relevance or AST path."""
    try:
        decoded: Any = [{name: json.loads(raw)} for name, raw in calls]
    except Exception:
        decoded = None
    if "irrelevance" in entry.category:
        return decoded is None or bool(ref.is_empty(decoded))
    if decoded is None or not ref.call_format(decoded):
        return False
    functions = copy.deepcopy(entry.functions)
    result = ref.ast_checker(
        functions, decoded, entry.ground_truth, ref.python, entry.category, FC_MODEL
    )
    return bool(result["valid"])


def _gold(answer: dict[str, Any], pick: int = 0) -> tuple[str, dict[str, Any]]:
    name, params = next(iter(answer.items()))
    arguments = {}
    for param, allowed in params.items():
        values = [v for v in allowed if v != ""]
        if values:
            arguments[param] = _concrete(values[pick % len(values)])
    return openai_name(name), arguments


def _concrete(value: Any) -> Any:
    """An answer value as a model would write it: a dict answer lists allowed values per key."""
    if isinstance(value, dict):
        return {k: _concrete(v[0]) for k, v in value.items() if v and v[0] != ""}
    if isinstance(value, list):
        return [_concrete(v) if isinstance(v, dict) else v for v in value]
    return value


def _encode(calls: list[tuple[str, Any]]) -> Calls:
    return [(name, json.dumps(args)) for name, args in calls]


def _mutations(entry: Entry, rng: random.Random) -> Iterator[tuple[str, Calls]]:
    yield "no call", []
    yield "bad json", [(openai_name(entry.functions[0]["name"]), '{"a": ')]
    yield "args not an object", [(openai_name(entry.functions[0]["name"]), "[1, 2]")]
    if not entry.ground_truth:
        first = entry.functions[0]
        required = first["parameters"].get("required", [])
        yield "a call", _encode([(openai_name(first["name"]), dict.fromkeys(required, "x"))])
        return
    gold = [_gold(a) for a in entry.ground_truth]
    yield "gold", _encode(gold)
    yield "gold, other choices", _encode([_gold(a, 1) for a in entry.ground_truth])
    yield "reversed", _encode(gold[::-1])
    yield "one call missing", _encode(gold[:-1])
    yield "one call twice", _encode([*gold, gold[0]])
    yield "dotted name", _encode([(n.replace("_", ".", 1), a) for n, a in gold])
    yield "wrong name", _encode([(n + "_x", a) for n, a in gold])
    yield "extra param", _encode([(n, {**a, "zz_unknown": 1}) for n, a in gold])
    for param in list(gold[0][1]):
        for label, value in _variants(gold[0][1][param], rng):
            name, arguments = gold[0]
            changed = [(name, {**arguments, param: value}), *gold[1:]]
            yield f"{param}: {label}", _encode(changed)
        name, arguments = gold[0]
        dropped = {k: v for k, v in arguments.items() if k != param}
        yield f"{param}: left out", _encode([(name, dropped), *gold[1:]])


def _variants(value: Any, rng: random.Random) -> Iterator[tuple[str, Any]]:
    yield "as string", str(value)
    yield "null", None
    if isinstance(value, bool):
        yield "negated", not value
        yield "as int", int(value)
    elif isinstance(value, int):
        yield "as float", float(value)
        yield "off by one", value + 1
    elif isinstance(value, float):
        yield "as int", int(value)
        yield "shifted", value + 0.5
    elif isinstance(value, str):
        yield "upper, punctuated", value.upper() + ". "
        yield "other text", value + rng.choice(["a", "zz", " extra"])
        yield "as list", [value]
    elif isinstance(value, list):
        yield "reversed", value[::-1]
        yield "shorter", value[:-1]
        yield "items as strings", [str(v) for v in value]
        yield "empty", []
    elif isinstance(value, dict):
        yield "empty", {}
        yield "extra key", {**value, "zz": 1}
        yield "as list", [value]


@pytest.fixture(scope="module")
def entries(bfcl_data: Path) -> list[Entry]:
    return [e for c in CATEGORIES for e in load_category(bfcl_data, c, PER_CATEGORY)]


def test_our_checker_agrees_with_bfcl_on_every_case(
    bfcl_reference: types.SimpleNamespace, entries: list[Entry]
) -> None:
    rng = random.Random(13)
    disagreements: list[str] = []
    verdicts = {True: 0, False: 0}
    for entry in entries:
        for label, calls in _mutations(entry, rng):
            theirs = bfcl_verdict(bfcl_reference, entry, calls)
            ours = judge(entry.category, entry.functions, calls, entry.ground_truth).valid
            verdicts[theirs] += 1
            if ours != theirs:
                disagreements.append(f"{entry.id} [{label}]: BFCL {theirs}, ours {ours}")
    assert disagreements == []
    # Both verdicts occur often, so agreement is not two checkers saying "no" to everything.
    assert verdicts[True] > 500 and verdicts[False] > 2000, verdicts


def test_gold_answers_pass_and_no_call_fails(entries: list[Entry]) -> None:
    gold_passed = answered = 0
    for entry in entries:
        gold = _encode([_gold(a) for a in entry.ground_truth])
        if entry.ground_truth:
            answered += 1
            gold_passed += judge(entry.category, entry.functions, gold, entry.ground_truth).valid
            assert not judge(entry.category, entry.functions, [], entry.ground_truth).valid
        else:
            assert judge(entry.category, entry.functions, [], []).valid
    # A few of BFCL's answers fail its own rules (e.g. a value of a parameter the doc lacks).
    assert gold_passed >= 0.95 * answered, (gold_passed, answered)
