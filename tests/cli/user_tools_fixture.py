"""User tools for the `MODULE:ATTR` tests: a plain function, a factory, a Tool."""

from __future__ import annotations

from tools import Tool, tool


def shout(text: str) -> str:
    """Upper-case a text.

    Args:
        text: What to shout.
    """
    return text.upper()


@tool
def whisper(text: str) -> str:
    """Lower-case a text.

    Args:
        text: What to whisper.
    """
    return text.lower()


def make_tools() -> list[Tool]:
    """A factory: called with no arguments, returns the tools."""
    return [whisper, tool(shout)]


def not_tools() -> str:
    """A zero-argument function that returns no tools."""
    return "hello"
