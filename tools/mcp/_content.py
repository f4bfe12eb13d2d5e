"""An MCP `CallToolResult` as the text a tool result is for the model."""

from __future__ import annotations

import base64
import json
from typing import Any


def result_text(result: Any) -> str:
    """Text blocks as they are; structured content as JSON when there is no text; images,
    audio and binary resources described (small local models read text only)."""
    parts = [_block_text(block) for block in getattr(result, "content", None) or []]
    text = "\n".join(part for part in parts if part)
    structured = getattr(result, "structured_content", None)
    if structured is not None and not any(
        getattr(b, "type", "") == "text" for b in getattr(result, "content", None) or []
    ):
        dumped = json.dumps(structured, ensure_ascii=False, default=str)
        text = f"{dumped}\n{text}" if text else dumped
    return text


def _block_text(block: Any) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind} {block.mime_type}, {_size(block.data)} bytes, not shown]"
    if kind == "resource":
        return _resource_text(block.resource)
    if kind == "resource_link":
        name = getattr(block, "name", "") or ""
        return f"[resource link {name} <{block.uri}>]".replace("  ", " ")
    return f"[{kind or 'unknown'} content]"


def _resource_text(resource: Any) -> str:
    uri = getattr(resource, "uri", "")
    text = getattr(resource, "text", None)
    if isinstance(text, str):
        return f"[resource {uri}]\n{text}"
    mime = getattr(resource, "mime_type", None) or "application/octet-stream"
    return f"[resource {uri}: {mime}, {_size(getattr(resource, 'blob', ''))} bytes, not shown]"


def _size(data: str) -> int:
    try:
        return len(base64.b64decode(data, validate=False))
    except (ValueError, TypeError):
        return len(data)
