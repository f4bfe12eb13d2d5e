"""Checking a call's arguments: against a pydantic model (typed tools) or a JSON schema as
given (tools from OpenAI dicts and MCP servers), with the same lax coercion both ways."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from typing import Any

from jsonschema import ValidationError as SchemaError
from jsonschema.exceptions import SchemaError as BadSchema
from jsonschema.validators import validator_for
from pydantic import BaseModel
from pydantic import ValidationError as ModelError
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable

from tools._log import get_logger

log = get_logger(__name__)

# Coercion passes before giving up: each pass fixes every error it can at once.
_MAX_PASSES = 4


class InvalidArguments(ValueError):
    """Arguments that do not match the tool's schema; `problems` are one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def validate_with_model(model: type[BaseModel], arguments: dict[str, Any]) -> dict[str, Any]:
    """Validate (and coerce) with a pydantic model; return the keyword arguments."""
    try:
        validated = model.model_validate(arguments)
    except ModelError as exc:
        raise InvalidArguments(_model_problems(exc)) from None
    return {field: getattr(validated, field) for field in type(validated).model_fields}


def _model_problems(exc: ModelError) -> list[str]:
    problems = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "arguments"
        got = f" (got {err['input']!r})" if err["type"] != "missing" else ""
        problems.append(f"{where}: {err['msg']}{got}")
    return problems


class SchemaValidator:
    """Validates arguments against a JSON schema exactly as given (any draft `jsonschema`
    knows), after the coercions a small model needs: "3" -> 3 where a number is expected,
    3 -> "3" where a string is, "true" -> True where a boolean is.

    Raises:
        ValueError: The schema itself is not a valid JSON schema.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        cls = validator_for(schema)
        try:
            cls.check_schema(schema)
        except BadSchema as exc:
            raise ValueError(f"not a valid JSON schema: {exc.message}") from None
        self.schema = schema
        # No network: a `$ref` to another document is never fetched; what it points to is
        # not checked here (the rest of the schema still is).
        local = _without_remote_refs(schema)
        registry: Registry[Any] = Registry(retrieve=_no_retrieval)  # type: ignore[call-arg]
        self._validator = cls(local, registry=registry)

    def __call__(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The coerced arguments; raises `InvalidArguments` when they still do not match."""
        value = arguments
        for _ in range(_MAX_PASSES):
            try:
                errors = list(self._validator.iter_errors(value))
            except Unresolvable:
                log.info("tool.schema_ref_unresolved")
                return value  # the part that refers elsewhere cannot be checked here

            if not errors:
                return value
            fixed = _coerced(value, errors)
            if fixed is None:
                break
            value = fixed
        raise InvalidArguments(_schema_problems(self._validator.iter_errors(value)))


def _no_retrieval(uri: str) -> Resource[Any]:
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


def _without_remote_refs(node: Any) -> Any:
    """A copy in which a `$ref` to another document accepts anything."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            return {}
        return {key: _without_remote_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_without_remote_refs(item) for item in node]
    return node


def _coerced(value: dict[str, Any], errors: list[SchemaError]) -> dict[str, Any] | None:
    """A copy with every coercible type error fixed, or None when none could be fixed."""
    result = copy.deepcopy(value)
    changed = False
    for error in errors:
        if error.validator != "type" or not error.absolute_path:
            continue
        wanted: Any = error.validator_value
        types = [wanted] if isinstance(wanted, str) else list(wanted)
        new = _coerce(error.instance, types)
        if new is not _NO:
            _set_path(result, list(error.absolute_path), new)
            changed = True
    return result if changed else None


_NO = object()


def _coerce(instance: Any, types: list[str]) -> Any:
    if isinstance(instance, str):
        text = instance.strip()
        if "integer" in types:
            try:
                return int(text)
            except ValueError:
                pass
        if "number" in types:
            try:
                number = float(text)
            except ValueError:
                return _NO
            return number if math.isfinite(number) else _NO
        if "boolean" in types and text.lower() in ("true", "false"):
            return text.lower() == "true"
        return _NO
    if "string" in types and isinstance(instance, int | float) and not isinstance(instance, bool):
        return str(instance)
    if "integer" in types and isinstance(instance, float) and instance.is_integer():
        return int(instance)
    return _NO


def _set_path(root: Any, path: list[Any], value: Any) -> None:
    node = root
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _schema_problems(errors: Iterable[SchemaError]) -> list[str]:
    problems = []
    for error in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
        # jsonschema's messages already quote the offending value.
        where = ".".join(str(p) for p in error.absolute_path) or "arguments"
        problems.append(f"{where}: {error.message}")
    return problems
