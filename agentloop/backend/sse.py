"""Server-sent events: the JSON payloads of `data:` lines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any


def sse_payloads(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The JSON objects of `data:` lines, up to `[DONE]`."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            return
        if payload:
            yield json.loads(payload)
