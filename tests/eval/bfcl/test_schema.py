"""Function docs become the same OpenAI tools as BFCL's OpenAI handler makes."""

from __future__ import annotations

import copy
import types
from pathlib import Path

from agentloop.eval.bfcl.data import CATEGORIES, load_category
from agentloop.eval.bfcl.schema import to_openai_tool
from agentloop.eval.bfcl.suite import offered_tool


def test_every_function_doc_converts_as_bfcl_converts_it(
    bfcl_reference: types.SimpleNamespace, bfcl_data: Path
) -> None:
    compared = 0
    for category in CATEGORIES:
        for entry in load_category(bfcl_data, category):
            hinted = bfcl_reference.add_hint(copy.deepcopy(entry.functions), category)
            theirs = bfcl_reference.convert_to_tool(hinted)
            ours = [to_openai_tool(f) for f in entry.functions]
            assert ours == theirs, entry.id
            sent = [offered_tool(f).definition.to_openai() for f in entry.functions]
            assert sent == theirs, entry.id
            compared += len(ours)
    assert compared > 5000


def test_conversion_by_hand() -> None:
    doc = {
        "name": "geo.distance.find",
        "description": "Distance.",
        "parameters": {
            "type": "dict",
            "properties": {
                "speed": {"type": "float", "description": "km/h."},
                "points": {"type": "array", "items": {"type": "tuple"}, "description": "p"},
                "opts": {"type": "dict", "properties": {"x": {"type": "any"}}},
                "raw": {"description": "no type"},
            },
            "required": ["speed"],
        },
    }
    before = copy.deepcopy(doc)
    tool = to_openai_tool(doc)["function"]
    assert doc == before
    assert tool["name"] == "geo_distance_find"
    assert tool["description"].endswith("Note that the provided function is in Python 3 syntax.")
    props = tool["parameters"]["properties"]
    assert tool["parameters"]["type"] == "object"
    assert props["speed"] == {
        "type": "number",
        "format": "float",
        "description": "km/h. This is a float type value.",
    }
    assert props["points"]["items"] == {"type": "array"}
    assert props["opts"] == {"type": "object", "properties": {"x": {"type": "string"}}}
    assert props["raw"]["type"] == "string"
