"""Raw traffic, appended as JSON lines, so any parsing problem can be replayed.

Each line is one entry: `{"type": "request", "body": …}`, `{"type": "response",
"status": …, "body": "<raw text>"}` or `{"type": "sse", "status": …, "lines": [...]}`,
plus `{"type": "error", …}` when a request failed. `replay()` re-parses the responses.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from agentloop.backend.parse import ReplyBuilder
from agentloop.backend.sse import sse_payloads
from agentloop.backend.types import ModelReply


class Transcript:
    """Appends entries to a JSONL file (created with its folder on first write)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None

    def record(self, entry: dict[str, Any]) -> None:
        """Append one entry, flushed at once so a crash loses nothing."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        line = json.dumps({"time": round(time.time(), 3), **entry}, ensure_ascii=False)
        self._file.write(line + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file (a later `record` reopens it)."""
        if self._file is not None:
            self._file.close()
            self._file = None


def read_entries(path: str | Path) -> Iterator[dict[str, Any]]:
    """The entries of a transcript file, in order."""
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def replay(path: str | Path) -> list[ModelReply]:
    """Parse every recorded response again, exactly as the client parsed it live."""
    replies: list[ModelReply] = []
    for entry in read_entries(path):
        builder = ReplyBuilder()
        if entry["type"] == "response" and entry.get("status", 200) < 400:
            builder.add_body(json.loads(entry["body"]))
        elif entry["type"] == "sse" and entry.get("status", 200) < 400:
            for data in sse_payloads(entry["lines"]):
                builder.add_chunk(data)
        else:
            continue
        replies.append(builder.build())
    return replies
