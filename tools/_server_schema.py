"""The copy of a tool's JSON schema that is sent to the model server.

llama.cpp turns every tool schema into a grammar (`common/json-schema-to-grammar.cpp`) and
fails the whole request with HTTP 400 when one part of one schema is beyond it: a regex
`pattern` it cannot translate, a `format` it does not know, length bounds so large that the
grammar's repetitions explode, keywords it has no rule for (`not`, `if`, ...). vLLM's
guided decoding backends have similar gaps. So the copy sent is normalised — references
inlined, such keywords dropped, unions simplified, objects closed — while arguments are
still validated against the original.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

# Bounds above this are dropped: llama.cpp spells a bound out as that many grammar repeats.
MAX_BOUND = 100
# A reference cycle is cut after this many expansions (the rest accepts any JSON value).
_MAX_REF_DEPTH = 3

_DROPPED = frozenset(
    {
        "$schema", "$id", "$comment", "$anchor", "$dynamicAnchor", "$dynamicRef",
        "$defs", "definitions", "format", "pattern", "patternProperties", "not", "if", "then",
        "else", "dependentSchemas", "dependentRequired", "dependencies", "propertyNames",
        "unevaluatedProperties", "unevaluatedItems", "contains", "minContains", "maxContains",
        "contentEncoding", "contentMediaType", "contentSchema", "examples", "readOnly",
        "writeOnly", "deprecated", "multipleOf", "title",
    }
)  # fmt: skip
_BOUNDS = ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties")


def schema_for_server(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised copy of a tool's parameters schema (the original is not changed)."""
    walker = _Walker(schema)
    result = walker.node(schema, ())
    if not isinstance(result, dict):
        result = {}
    if result.get("type") in (None, "object") and "anyOf" not in result:
        result["type"] = "object"
        result.setdefault("properties", {})
    return result


class _Walker:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root

    def node(self, value: Any, refs: tuple[str, ...]) -> Any:
        if value is True:
            return {}
        if not isinstance(value, Mapping):
            return value
        if isinstance(value.get("$ref"), str):
            return self._ref(value, refs)
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in _DROPPED or (key in _BOUNDS and _too_big(item)):
                continue
            out[key] = self._keyword(key, item, refs)
        if "oneOf" in out:
            out["anyOf"] = out.pop("oneOf") + out.pop("anyOf", [])
        if "allOf" in out:
            out = _merge_all_of(out)
        if "anyOf" in out:
            out = _simplify_any_of(out)
        return _close_object(out)

    def _keyword(self, key: str, item: Any, refs: tuple[str, ...]) -> Any:
        if key in ("properties", "$defs", "definitions") and isinstance(item, Mapping):
            return {name: self.node(sub, refs) for name, sub in item.items()}
        if key in ("items", "additionalProperties") and isinstance(item, Mapping):
            return self.node(item, refs)
        if key in ("anyOf", "oneOf", "allOf", "prefixItems") and isinstance(item, list):
            return [self.node(sub, refs) for sub in item]
        return item

    def _ref(self, value: Mapping[str, Any], refs: tuple[str, ...]) -> Any:
        ref = value["$ref"]
        siblings = {k: v for k, v in value.items() if k != "$ref"}
        target = _resolve(self.root, ref)
        if target is None or refs.count(ref) >= _MAX_REF_DEPTH:
            # An unresolvable or endlessly recursive reference: any value, described.
            inlined: dict[str, Any] = {}
        else:
            inlined = self.node(target, (*refs, ref))
            if not isinstance(inlined, dict):
                inlined = {}
        merged = {**inlined, **self.node(siblings, refs)} if siblings else inlined
        return merged


def _resolve(root: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#"):
        return None  # remote references: not fetched
    node: Any = root
    for part in ref[1:].lstrip("/").split("/") if ref != "#" else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _too_big(bound: Any) -> bool:
    return not isinstance(bound, int) or bound > MAX_BOUND


def _merge_all_of(node: dict[str, Any]) -> dict[str, Any]:
    """Fold `allOf` parts into the node: properties and required joined, other keys kept."""
    parts = node.pop("allOf")
    for part in parts:
        if not isinstance(part, dict):
            continue
        for key, item in part.items():
            if key == "properties" and isinstance(item, dict):
                node["properties"] = {**node.get("properties", {}), **item}
            elif key == "required" and isinstance(item, list):
                node["required"] = list(dict.fromkeys([*node.get("required", []), *item]))
            else:
                node.setdefault(key, item)
    return node


def _simplify_any_of(node: dict[str, Any]) -> dict[str, Any]:
    """A union of plain types becomes a type list; a union of one branch becomes it."""
    branches: list[Any] = []
    for branch in node.pop("anyOf"):
        nested = branch.get("anyOf") if isinstance(branch, dict) and len(branch) == 1 else None
        branches.extend(nested if isinstance(nested, list) else [branch])
    branches = [b for b in branches if b is not False]
    if any(b == {} for b in branches) or not branches:
        return node  # anything goes
    if len(branches) == 1 and isinstance(branches[0], dict):
        return {**branches[0], **node}
    plain = [b.get("type") for b in branches if isinstance(b, dict) and set(b) <= {"type"}]
    if len(plain) == len(branches) and all(isinstance(t, str) for t in plain):
        return {"type": list(dict.fromkeys(plain)), **node}
    node["anyOf"] = branches
    return node


def _close_object(node: dict[str, Any]) -> dict[str, Any]:
    """Objects that list their properties get `additionalProperties: false` unless they say
    otherwise: an open object lets the grammar accept (and a small model invent) any key."""
    properties = node.get("properties")
    if isinstance(properties, dict):
        node.setdefault("additionalProperties", False)
        required = node.get("required")
        if isinstance(required, list):
            node["required"] = [name for name in required if name in properties]
    return node


def rejected_tool(body: str, definitions: Iterable[Mapping[str, Any]]) -> str | None:
    """Which tool a server's "cannot use this schema" error is about, when it can be told.

    Args:
        body: The error text of a rejected request (HTTP 400/500 body or message).
        definitions: The `tools` list that was sent.

    Returns:
        The tool's name, or None when the error names no tool and quotes no part of one.
    """
    entries = [(d.get("function") or d) for d in definitions]
    named = [e["name"] for e in entries if isinstance(e.get("name"), str)]
    for name in named:
        if f'"{name}"' in body or f"'{name}'" in body or f"tool {name}" in body:
            return str(name)
    # llama-server: "JSON schema error at #/properties/g: cannot resolve $ref #/$defs/X"
    ref = re.search(r"\$ref (\S+?)(?:,|\s|$)", body)
    fragments = [{"$ref": ref.group(1)}] if ref else []
    for fragment in [*fragments, *_quoted_json(body)]:
        for entry in entries:
            if _contains(entry.get("parameters"), fragment):
                return str(entry.get("name"))
    pointer = re.search(r"error at (#/\S*?):", body)
    if pointer:
        where = pointer.group(1)
        found = [e for e in entries if _resolve(e.get("parameters") or {}, where) is not None]
        if len(found) == 1:
            return str(found[0].get("name"))
    return None


def _quoted_json(body: str) -> list[Any]:
    """JSON objects quoted inside an error message (llama.cpp quotes the schema it rejects)."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    text = body.replace('\\"', '"')
    index = text.find("{")
    while index != -1 and len(found) < 20:
        try:
            value, end = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            index = text.find("{", index + 1)
            continue
        if isinstance(value, dict) and value:
            found.append(value)
        index = text.find("{", end)
    return found


def _contains(schema: Any, fragment: Any) -> bool:
    if schema == fragment:
        return True
    if isinstance(schema, Mapping):
        return any(_contains(v, fragment) for v in schema.values())
    if isinstance(schema, list):
        return any(_contains(v, fragment) for v in schema)
    return False
