"""The compaction steps, as plain transformations of the list of messages to send.

The list holds `Entry` values: the message as it will be sent, and the index of the
caller's message it stands for. Steps replace entries with modified copies; the caller's
messages are never touched. Every step keeps the conversation valid: a tool call and its
results stay together, leading system messages and the latest user message stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from agentloop.context.counting import REASONING_FIELDS

CAP_MARKER = "[... {cut} of {total} characters cut here to fit the context window ...]"
STUB = (
    "[{name} output of {chars} characters left out to fit the context window; "
    "call the tool again if you need it]"
)
DROP_NOTE = "[{n} earlier messages left out to fit the context window]"
SUMMARY_NOTE = "[{n} earlier messages, summarised to fit the context window:]\n{summary}"
_HEAD_SHARE = 0.7
STUB_MIN_CHARS = 400
"""Results shorter than this (about 100 tokens) are never stubbed: the stub would save a
few tokens and lose what they said (the e2e lost "page 10 is the last page" that way)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One message to send.

    Attributes:
        message: The message as it will be sent.
        origin: Index of the caller's message it stands for; None for a note made here.
        note: The note about left-out turns merged into this (user) message, if any.
        note_count: How many messages that note stands for.
    """

    message: dict[str, Any]
    origin: int | None
    note: str = ""
    note_count: int = 0

    @property
    def role(self) -> str:
        """The message's role."""
        return str(self.message.get("role", ""))


@dataclass(frozen=True, slots=True)
class Layout:
    """Which entries no step may remove.

    Attributes:
        system_end: Entries before this index are the leading system messages.
        last_user: Index of the latest user message (-1 when there is none).
        tail_start: Entries from here on are the most recent assistant turns.
    """

    system_end: int
    last_user: int
    tail_start: int

    def removable(self, index: int) -> bool:
        """True when the entry at `index` may be stubbed, summarised or left out."""
        return self.system_end <= index < self.tail_start and index != self.last_user


def units(entries: Sequence[Entry]) -> list[tuple[int, int]]:
    """Ranges `[start, end)` that must stay whole: an assistant message with its tool
    results, or any other single message."""
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(entries):
        end = i + 1
        if entries[i].role == "assistant" and entries[i].message.get("tool_calls"):
            while end < len(entries) and entries[end].role == "tool":
                end += 1
        spans.append((i, end))
        i = end
    return spans


def layout(entries: Sequence[Entry], keep_recent: int) -> Layout:
    """Find the system prefix, the latest user message and the protected recent turns."""
    system_end = 0
    while system_end < len(entries) and entries[system_end].role == "system":
        system_end += 1
    last_user = max(
        (i for i, e in enumerate(entries) if e.role == "user" and e.origin is not None),
        default=-1,
    )
    assistant_starts = [s for s, _ in units(entries) if entries[s].role == "assistant"]
    if not assistant_starts:
        tail_start = len(entries)
    else:
        tail_start = assistant_starts[-min(keep_recent, len(assistant_starts))]
    return Layout(system_end, last_user, max(tail_start, system_end))


def cap_text(text: str, max_chars: int) -> str:
    """`text` cut to about `max_chars`: head and tail kept, a marker saying how much went."""
    if len(text) <= max_chars:
        return text
    keep = max(0, max_chars - 80)
    head = int(keep * _HEAD_SHARE)
    tail = keep - head
    cut = len(text) - head - tail
    marker = CAP_MARKER.format(cut=cut, total=len(text))
    return f"{text[:head]}\n{marker}\n{text[len(text) - tail :] if tail else ''}"


def cap_entry(entry: Entry, max_chars: int) -> Entry | None:
    """The entry with its text capped, or None when it is short enough already."""
    content = entry.message.get("content")
    if not isinstance(content, str) or len(content) <= max_chars:
        return None
    return replace(entry, message={**entry.message, "content": cap_text(content, max_chars)})


def cap_results(entries: list[Entry], max_chars: int, plan: Layout) -> int:
    """Cap every tool result, and every user message but the latest; returns how many."""
    changed = 0
    for i, entry in enumerate(entries):
        if entry.role == "tool" or (entry.role == "user" and i != plan.last_user):
            capped = cap_entry(entry, max_chars)
            if capped is not None:
                entries[i] = capped
                changed += 1
    return changed


def drop_reasoning(entries: list[Entry], plan: Layout) -> int:
    """Leave out the reasoning of assistant messages before the latest user message."""
    changed = 0
    for i in range(min(plan.last_user, len(entries))):
        message = entries[i].message
        if entries[i].role == "assistant" and any(message.get(k) for k in REASONING_FIELDS):
            kept = {k: v for k, v in message.items() if k not in REASONING_FIELDS}
            entries[i] = replace(entries[i], message=kept)
            changed += 1
    return changed


def tool_names(entries: Sequence[Entry]) -> dict[str, str]:
    """Tool call id -> tool name, over every assistant message."""
    names: dict[str, str] = {}
    for entry in entries:
        for call in entry.message.get("tool_calls") or ():
            names[str(call.get("id"))] = str((call.get("function") or {}).get("name") or "tool")
    return names


def stub_entry(entry: Entry, name: str) -> Entry | None:
    """A tool result replaced by a one-line stub (None when the result is short)."""
    content = entry.message.get("content")
    if not isinstance(content, str):
        return None
    stub = STUB.format(name=name, chars=len(content))
    if len(content) < max(STUB_MIN_CHARS, 2 * len(stub)) or _is_stub(content, name):
        return None
    return replace(entry, message={**entry.message, "content": stub})


def _is_stub(content: str, name: str) -> bool:
    head, tail = STUB.split("{chars}")
    return content.startswith(head.format(name=name)) and content.endswith(tail)


def stub_candidates(entries: Sequence[Entry], plan: Layout) -> list[int]:
    """Indices of tool results that may be stubbed, oldest first."""
    return [i for i, e in enumerate(entries) if e.role == "tool" and plan.removable(i)]


def segments(entries: Sequence[Entry], plan: Layout) -> list[tuple[int, int]]:
    """Ranges of whole turns that may be summarised or left out, oldest first: the history
    before the latest user message, then the older part of the current tool loop."""
    found: list[tuple[int, int]] = []
    start: int | None = None
    for s, e in units(entries):
        whole = all(plan.removable(i) for i in range(s, e))
        if whole and start is None:
            start = s
        elif not whole and start is not None:
            found.append((start, s))
            start = None
    if start is not None:
        found.append((start, plan.tail_start))
    return [(s, e) for s, e in found if e > s]


def merge_target(entries: Sequence[Entry], start: int, end: int) -> int | None:
    """The user message next to `[start, end)` that a note about it joins, if any.

    Joining keeps roles alternating (some chat templates refuse two user messages in a
    row), and keeps one note per place instead of a pile of them."""
    for i in (start - 1, end):
        if 0 <= i < len(entries) and _is_text_user(entries[i]):
            return i
    return None


def _is_text_user(entry: Entry) -> bool:
    return entry.role == "user" and isinstance(entry.message.get("content"), str)


def with_note(entry: Entry, note: str, count: int, *, first: bool) -> Entry:
    """`entry` carrying `note` (in place of any note it carried before)."""
    content = str(entry.message.get("content") or "")
    if entry.origin is None:
        content = ""
    elif entry.note:
        content = content.replace(f"{entry.note}\n\n", "", 1).replace(f"\n\n{entry.note}", "", 1)
    text = f"{note}\n\n{content}" if first else f"{content}\n\n{note}"
    if not content:
        text = note
    return replace(entry, message={**entry.message, "content": text}, note=note, note_count=count)


def replace_segment(
    entries: list[Entry], start: int, end: int, note: str, count: int
) -> list[Entry]:
    """`entries` with `[start, end)` replaced by `note`, which stands for `count` messages
    (said by the user: joined to a neighbouring user message when there is one)."""
    target = merge_target(entries, start, end)
    if target is None:
        fresh = Entry({"role": "user", "content": note}, None, note, count)
        return [*entries[:start], fresh, *entries[end:]]
    merged = with_note(entries[target], note, count, first=target == end)
    if target == start - 1:
        return [*entries[: start - 1], merged, *entries[end:]]
    return [*entries[:start], merged, *entries[end + 1 :]]
