"""The tutorial's story tool and a date tool."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from tools import Tool, ToolError, tool

_STORY = (
    "{hero} lived at the edge of a quiet town, where the river bent twice before reaching "
    "the sea. Every morning {hero} counted the boats, and every evening wrote down what "
    "each one carried. One autumn a boat arrived with nothing on board but a sealed "
    "letter addressed to {hero}. Inside was a single line: 'Keep counting; someone is "
    "reading.' From that day on the notes were longer, the counting more careful, and "
    "the town, without knowing why, began to leave small gifts by the river."
)


def story_tool() -> Tool:
    """The ``write_a_story`` tool: a short story, optionally about a given hero."""

    def write_a_story(hero: str = "A lighthouse keeper") -> str:
        """Write a short story.

        Args:
            hero: Who the story is about.
        """
        return _STORY.format(hero=hero.strip() or "A lighthouse keeper")

    return tool(write_a_story)


def date_tool(clock: Callable[[], datetime.date] | None = None) -> Tool:
    """The ``current_date`` tool.

    Args:
        clock: Returns today's date (tests pass a fixed one); default: the local date.
    """
    today = clock or datetime.date.today

    def current_date(days: int = 0) -> str:
        """Return today's date (YYYY-MM-DD) and weekday, or the date `days` from today.
        Call it for anything relative to today: current_date(days=30) for 30 days from
        now, current_date(days=-7) for a week ago; then answer with the date it returns.

        Args:
            days: Days to add to today (negative for the past); 0 for today.
        """
        date = today()
        if days == 0:
            return _day(date)
        try:
            target = date + datetime.timedelta(days=days)
        except OverflowError:
            raise ToolError(
                f"days={days} is past year 9999 or before year 1; use a smaller number."
            ) from None
        relation = "after" if days > 0 else "before"
        return f"{_day(target)}: {abs(days)} days {relation} today, {_day(date)}"

    return tool(current_date)


def _day(date: datetime.date) -> str:
    return f"{date.isoformat()} ({date.strftime('%A')})"
