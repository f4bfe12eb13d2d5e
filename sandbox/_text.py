"""Bounded output buffers and neutralising of terminal control sequences."""

from __future__ import annotations

import re

# CSI, OSC, DCS/SOS/PM/APC strings and two-byte escapes, in 7-bit and 8-bit forms.
_ESCAPE_SEQUENCE = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]                 # CSI ... final byte
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])       # OSC / DCS / SOS / PM / APC ...
      .*?(?:\x07|\x1b\\|\x9c|$)                      # ... up to BEL or ST
    | \x1b[ -/]*[0-~]                                # other escapes (ESC c, ESC ( B, ...)
    """,
    re.VERBOSE | re.DOTALL,
)
# Remaining C0/C1 controls (tab and newline are kept), DEL, and bidi overrides that can
# make text read differently from what it is.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def sanitize_text(text: str) -> str:
    """Neutralise terminal control sequences so text is safe to show or send on.

    Escape sequences are removed; a lone carriage return becomes a newline (so one line
    cannot overwrite another); other control characters become ``\\xNN``-style escapes.

    Args:
        text: Text as a process wrote it.

    Returns:
        The text with only printable characters, tabs and newlines.
    """
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def decode_output(data: bytes) -> str:
    """Decode process output (UTF-8, invalid bytes replaced) and sanitise it."""
    return sanitize_text(data.decode("utf-8", errors="replace"))


class BoundedBuffer:
    """Keeps the head and tail of a byte stream within a fixed budget.

    Args:
        limit: Bytes kept in total; half from the start, half from the end.
    """

    def __init__(self, limit: int) -> None:
        self._head_limit = max(limit // 2, 0)
        self._tail_limit = max(limit - self._head_limit, 0)
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def feed(self, data: bytes) -> None:
        """Add a chunk of output."""
        self.total += len(data)
        room = self._head_limit - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if data and self._tail_limit:
            self._tail += data
            excess = len(self._tail) - self._tail_limit
            if excess > 0:
                del self._tail[:excess]

    @property
    def truncated(self) -> bool:
        """True when bytes were dropped between head and tail."""
        return self.total > len(self._head) + len(self._tail)

    def text(self) -> str:
        """The kept output as sanitised text, with a marker where bytes were dropped."""
        if not self.truncated:
            return decode_output(bytes(self._head + self._tail))
        dropped = self.total - len(self._head) - len(self._tail)
        marker = f"\n[... {dropped} bytes of output omitted ...]\n"
        return decode_output(bytes(self._head)) + marker + decode_output(bytes(self._tail))
