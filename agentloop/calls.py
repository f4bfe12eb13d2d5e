"""One reply's calls: recover them from text, run them side by side, record them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agentloop.backend.runaway import RUNAWAY
from agentloop.backend.types import CALLS_CAPPED, REJECTED, ModelReply, RawToolCall
from agentloop.events import Event, ToolCallFinished, ToolCallStarted
from agentloop.recovery import recover_calls, text_call_problem
from agentloop.result import CallErrorKind, ToolCallRecord
from tools import Approver, ToolContext, ToolRegistry, parse_arguments

Emit = Callable[[Event], Awaitable[None]]

TRUNCATED_MESSAGE = (
    "Error: this call was cut off by the token limit before its arguments were complete, "
    "so it was not run. Send it again with shorter arguments."
)
CANCELLED_MESSAGE = "Not run: the user cancelled this turn."
CAPPED_NOTE = (
    "\n(Your reply was cut after {count} calls; these are their results. Make each further "
    "call after reading the results it needs.)"
)


@dataclass(frozen=True, slots=True)
class ParsedReply:
    """A reply with its calls settled: structured, recovered from text, or none.

    `capped`: the reply was cut after the calls it may make (`Profile.max_calls_per_reply`).
    `text_call`: the reply was only a call written as text that could not be taken; what
    to tell the model (see `recovery.text_call_problem`).
    """

    content: str
    reasoning: str
    calls: tuple[RawToolCall, ...]
    truncated: tuple[RawToolCall, ...]
    recovered: bool
    rejected: bool = False
    runaway: bool = False
    capped: bool = False
    text_call: str = ""


def settle_calls(reply: ModelReply, registry: ToolRegistry, *, recover: bool) -> ParsedReply:
    """Take the reply's structured calls, or recover calls written in content or reasoning."""
    content, reasoning = reply.content, reply.reasoning
    if reply.finish_reason == RUNAWAY:  # nothing in a looping reply is worth running
        return ParsedReply(content, reasoning, reply.tool_calls, (), False, runaway=True)
    if reply.finish_reason == REJECTED:
        calls, rest = recover_calls(content, registry.parameter_schemas())
        return ParsedReply(rest, reasoning, tuple(calls), (), bool(calls), rejected=True)
    if reply.tool_calls or reply.truncated_calls or not recover or not len(registry):
        structured, truncated = reply.tool_calls, reply.truncated_calls
        capped = reply.finish_reason == CALLS_CAPPED
        return ParsedReply(content, reasoning, structured, truncated, False, capped=capped)
    schemas = registry.parameter_schemas()
    calls, rest = recover_calls(content, schemas)
    if calls:
        return ParsedReply(rest, reasoning, tuple(calls), (), True)
    calls, rest = recover_calls(reasoning, schemas)
    if calls:
        return ParsedReply(content, rest, tuple(calls), (), True)
    problem = text_call_problem(content or reasoning, schemas) or ""
    return ParsedReply(content, reasoning, (), (), False, text_call=problem)


def assistant_message(reply: ModelReply, parsed: ParsedReply) -> dict[str, Any]:
    """The assistant message for history, reasoning kept in the field it came in."""
    message: dict[str, Any] = {"role": "assistant", "content": parsed.content}
    if parsed.reasoning:
        message[reply.reasoning_field or "reasoning_content"] = parsed.reasoning
    calls = (*parsed.calls, *parsed.truncated)
    if calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": _valid_json(call.arguments)},
            }
            for call in calls
        ]
    return message


def _valid_json(arguments: str) -> str:
    """Arguments for history: llama-server rejects a conversation holding invalid JSON
    (HTTP 500 on every later request), so repair what can be read and drop the rest."""
    try:
        json.loads(arguments)
    except ValueError:
        try:
            return json.dumps(parse_arguments(arguments))
        except ValueError:
            return "{}"
    return arguments


async def run_calls(
    registry: ToolRegistry,
    parsed: ParsedReply,
    *,
    turn: int,
    context: ToolContext,
    approver: Approver | None,
    emit: Emit,
) -> list[ToolCallRecord]:
    """Run every call of one reply concurrently; records come back in call order."""
    jobs = [
        _run_one(registry, call, parsed.recovered, turn, context, approver, emit)
        for call in parsed.calls
    ]
    records = list(await asyncio.gather(*jobs))
    for call in parsed.truncated:
        record = make_record(call, turn, parsed.recovered, TRUNCATED_MESSAGE, "truncated_call")
        await emit(ToolCallFinished(turn, record))
        records.append(record)
    return records


async def _run_one(
    registry: ToolRegistry,
    call: RawToolCall,
    recovered: bool,
    turn: int,
    context: ToolContext,
    approver: Approver | None,
    emit: Emit,
) -> ToolCallRecord:
    await emit(
        ToolCallStarted(turn, call.id, call.name, _peek(call.arguments), call.arguments, recovered)
    )
    outcome = await registry.call(
        call.name, call.arguments, context=context, approver=approver, call_id=call.id
    )
    record = ToolCallRecord(
        call_id=call.id,
        name=call.name,
        arguments=outcome.arguments,
        raw_arguments=call.arguments,
        output=outcome.content,
        error=outcome.error,
        recovered=recovered,
        turn=turn,
        duration=outcome.duration,
    )
    await emit(ToolCallFinished(turn, record))
    return record


def make_record(
    call: RawToolCall, turn: int, recovered: bool, output: str, error: CallErrorKind
) -> ToolCallRecord:
    """A record for a call that was not run (cut off, cancelled, repeated)."""
    return ToolCallRecord(
        call.id,
        call.name,
        _peek(call.arguments),
        call.arguments,
        output,
        error,
        recovered,
        turn,
        0.0,
    )


def tool_message(record: ToolCallRecord) -> dict[str, Any]:
    """The `role: "tool"` message that answers one call."""
    return {"role": "tool", "tool_call_id": record.call_id, "content": record.output}


def _peek(arguments: str) -> dict[str, Any] | None:
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
