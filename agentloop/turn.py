"""How one model reply decides what the run does next.

`decide` looks at a parsed reply once and returns one of four outcomes; the loop is a
`match` over them:

- `Answer`: the model answered (and, with `output_type`, the answer validated): finish.
- `RunCalls`: run the reply's calls, append their results, ask again.
- `Nudge`: nothing usable came back (a reply the server could not read, an empty answer,
  a call written as text that cannot run, an answer that is not the typed output); tell
  the model what to do and ask again.
- `Stop`: end the run early — repeated calls, a reply that kept repeating itself, a
  typed output that never validated — with words for the calls not run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agentloop.calls import ParsedReply
from agentloop.errors import AgentloopError
from agentloop.output import OutputSpec
from agentloop.repeats import RepeatGuard
from agentloop.result import StopReason

RUNAWAY_REFUSAL = "Not run: your reply kept repeating itself and was cut off."
REJECTED_NUDGE = (
    "The server could not read your last reply as text or as a tool call. Answer again; "
    "to use a tool, send one well-formed call with JSON arguments."
)
BLANK_NUDGE = (
    "Your reply had no text and no tool call. Call the tool the next step needs, or answer "
    "the user in plain text."
)
# Tool-call markup that carries nothing on its own: the 1.5B answered `<tools></tools>`.
_EMPTY_MARKUP = re.compile(
    r"</?(?:tools|tool_call|tool_response|function_calls?|arg_key|arg_value)>|```[\w-]*"
)


@dataclass(frozen=True, slots=True)
class Answer:
    """The final answer: its text and, with `output_type`, the validated value."""

    text: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class RunCalls:
    """Calls to run (structured or recovered; cut-off ones are reported, not run)."""

    reply: ParsedReply


@dataclass(frozen=True, slots=True)
class Nudge:
    """A message for the model before it is asked again."""

    message: str


@dataclass(frozen=True, slots=True)
class Stop:
    """End the run now.

    Attributes:
        reason: The stop reason.
        text: The output to report.
        refusal: What each call of this reply is told (they are not run), if any.
        error: The typed error for the result, if the stop is a failure.
    """

    reason: StopReason
    text: str = ""
    refusal: str = ""
    error: AgentloopError | None = None


Outcome = Answer | RunCalls | Nudge | Stop


@dataclass(slots=True)
class AnswerNudges:
    """How many more unusable answers of a run are sent back before one is accepted:
    empty ones (nothing but call markup) and calls written as text that cannot run."""

    left: int = 2

    def nudge(self, reply: ParsedReply, text: str) -> Nudge | None:
        """A nudge for an unusable answer, while any are left."""
        if self.left <= 0:
            return None
        message = reply.text_call or ("" if _EMPTY_MARKUP.sub("", text).strip() else BLANK_NUDGE)
        if not message:
            return None
        self.left -= 1
        return Nudge(message)


def decide(
    reply: ParsedReply,
    *,
    guard: RepeatGuard,
    output: OutputSpec | None,
    nudges: AnswerNudges | None = None,
) -> Outcome:
    """The one place a turn's outcome is decided."""
    if reply.runaway:
        return Stop("runaway_reply", reply.content, refusal=RUNAWAY_REFUSAL)
    if reply.rejected and not reply.calls:
        return Nudge(REJECTED_NUDGE)
    if not reply.calls and not reply.truncated:
        text = reply.content or reply.reasoning
        nudge = nudges.nudge(reply, text) if nudges is not None else None
        return nudge or _answer(text, output)
    if guard.stops(reply.calls):
        return Stop("repeated_calls", reply.content, refusal=guard.refusal())
    return RunCalls(reply)


def _answer(text: str, output: OutputSpec | None) -> Outcome:
    if output is None:
        return Answer(text)
    verdict = output.from_text(text)
    if verdict.ok:
        return Answer(text, verdict.value)
    if output.give_up():
        return Stop("invalid_output", text, error=output.error(verdict.problem))
    return Nudge(output.nudge(verdict.problem))
