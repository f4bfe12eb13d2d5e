"""Every text that leaves the sandbox is made safe to show the same way."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from sandbox import BoundedBuffer, has_unsafe_chars, sanitize_text

_HIDDEN = ("Cc", "Cf", "Cs", "Zl", "Zp")


def test_every_control_format_and_separator_character_is_escaped() -> None:
    missed = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) in _HIDDEN
        and chr(code) not in "\t\n\r"
        and sanitize_text(chr(code)) == chr(code)
    ]
    assert missed == []


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\x9b2Jb", "a\\x9b2Jb"),  # 8-bit CSI (not a colour): shown, not run
        ("a\x9d0;title\x9cb", "a\\x9d0;title\\x9cb"),  # 8-bit OSC
        ("x\u202eevil\u202cy", "x\\u202eevil\\u202cy"),  # bidi override
        ("a\u200fb\u061cc", "a\\u200fb\\u061cc"),
        ("line\u2028next", "line\\u2028next"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("bad \ud800 half", "bad \\ud800 half"),
        ("\x1b[31mred\x1b[0m", "red"),  # colour: dropped as noise
        ("over\rwrite", "over\nwrite"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
    ],
)
def test_sanitised_text_shows_what_it_hides(raw: str, shown: str) -> None:
    assert sanitize_text(raw) == shown
    sanitize_text(raw).encode("utf-8")  # never unencodable


def test_text_after_an_unterminated_osc_is_kept() -> None:
    shown = sanitize_text("before \x1b]8;;http://evil/ after the link and more")
    assert shown == "before \\x1b]8;;http://evil/ after the link and more"


def test_output_buffers_are_sanitised_too() -> None:
    buffer = BoundedBuffer(1024)
    buffer.feed(b"\x1b]0;pwned\x07\xc2\x9b6n tail \xff")
    assert buffer.text() == "\\x1b]0;pwned\\x07\\x9b6n tail \ufffd"


def test_unsafe_characters_are_detected() -> None:
    assert not has_unsafe_chars("ls -la\tfoo\nbar")
    assert has_unsafe_chars("ls\u202e") and has_unsafe_chars("echo \x1b") and has_unsafe_chars("\r")
