"""Bounded output buffers, and text made safe to show: control sequences neutralised."""

from __future__ import annotations

import re

# Colour and style (SGR) sequences carry no command; they are removed as noise. Every
# other control character, escapes included, is shown as an escape instead of being
# passed on: nothing reaches a terminal that it would execute, and no text after an
# unterminated sequence is lost.
_SGR = re.compile(r"(?:\x1b\[|\x9b)[0-9;:]*m")
# C0 (but tab and newline) and C1 controls, DEL, surrogates (not encodable), line and
# paragraph separators, and the format characters (Unicode category Cf: bidi controls,
# zero-width characters, tags, ...) that make text look different from what it is.
_UNSAFE = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891"
    "\u08e2\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff"
    "\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_UNSAFE_CHAR = re.compile(f"[{_UNSAFE}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def has_unsafe_chars(text: str) -> bool:
    """True when ``text`` holds a control, format, separator or surrogate character."""
    return _UNSAFE_CHAR.search(text) is not None


def sanitize_text(text: str) -> str:
    """Make text safe to show in a terminal or send on to a model.

    Colour sequences are removed; a carriage return becomes a newline (so one line cannot
    overwrite another); every other control character (ESC and C1 included), bidi and
    invisible format character, line separator and lone surrogate is replaced by a
    visible escape such as ``\\x1b`` or ``\\u202e``. Tabs and newlines are kept.

    Args:
        text: Text as a process (or a model) wrote it.

    Returns:
        Text with only printable characters, tabs and newlines, encodable as UTF-8.
    """
    text = _SGR.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE_CHAR.sub(_escape, text)


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
