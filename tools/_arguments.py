"""Turning raw tool-call arguments into a dict, and results into capped text."""

from __future__ import annotations

import ast
import json
from typing import Any

from pydantic import BaseModel

_EMPTY = {"", "null", "{}", "none"}


class ArgumentsError(ValueError):
    """The raw arguments are not a JSON object."""


def parse_arguments(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    """Parse a call's raw arguments; `None`, `""`, `"null"` and `"{}"` mean no arguments.

    Tolerates what local servers and small models really send: a dict already parsed, a
    JSON object encoded twice, and a Python-literal dict (single quotes, True/None).
    """
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return raw
    text = raw.strip()
    if text.lower() in _EMPTY:
        return {}
    value = _loads(text)
    if isinstance(value, str):
        inner = value.strip()
        value = {} if inner.lower() in _EMPTY else _loads(inner)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ArgumentsError(f"arguments must be a JSON object, got {type(value).__name__}")
    return value


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise ArgumentsError(f"arguments are not valid JSON ({exc.msg} at {exc.pos})") from exc
        if isinstance(value, dict | str):
            return value
        raise ArgumentsError(f"arguments are not valid JSON ({exc.msg} at {exc.pos})") from exc


def render_result(value: Any) -> str:
    """Text for the model: strings as they are, everything else as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))  # 6912, not 6912.0: small models copy what they see
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def cap_output(text: str, limit: int) -> tuple[str, bool]:
    """Keep the head and tail of an over-long text with a marker between; say if it was cut."""
    if limit <= 0 or len(text) <= limit:
        return text, False
    head = limit * 2 // 3
    tail = limit - head
    omitted = len(text) - head - tail
    marker = f"\n[... {omitted} characters omitted ...]\n"
    return f"{text[:head]}{marker}{text[-tail:]}", True
