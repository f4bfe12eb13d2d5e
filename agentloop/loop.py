"""The agent loop: ask the model, run its calls, append the results, repeat.

One turn is one model reply; `turn.decide` turns it into one outcome and the loop is a
`match` over it. A run always ends in a `RunResult`: failures that survive the backend's
retries become a stop reason and a typed error on the result; only misuse raises
(`ConfigError`). Parsing, recovery, retries and running tools live in their own modules.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentloop.backend import Backend, BackendInfo, ChatRequest, OpenAIBackend
from agentloop.calls import (
    CANCELLED_MESSAGE,
    CAPPED_NOTE,
    ParsedReply,
    assistant_message,
    make_record,
    run_calls,
    settle_calls,
    tool_message,
)
from agentloop.config import AgentConfig
from agentloop.context import ContextManager, SummaryRequest, resolve_window
from agentloop.errors import (
    AgentloopError,
    BackendError,
    BackendHTTPError,
    ConfigError,
    ContextOverflow,
)
from agentloop.events import (
    ContextCompacted,
    EventHandler,
    RunFinished,
    RunWarning,
    TurnFinished,
)
from agentloop.logs import get_logger
from agentloop.output import OutputSpec
from agentloop.profiles import Profile, resolve_profile
from agentloop.repeats import RepeatGuard
from agentloop.result import RunResult, StopReason
from agentloop.run_state import RunState
from agentloop.stream import RunStream
from agentloop.transcript import Transcript
from agentloop.turn import Answer, Nudge, RunCalls, Stop, decide
from tools import Approver, Tool, ToolContext, ToolRegistry

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Run:
    """What stays fixed during one run."""

    profile: Profile
    registry: ToolRegistry
    approver: Approver | None
    max_turns: int
    sampling: Mapping[str, Any]
    template_kwargs: Mapping[str, Any]
    output: OutputSpec | None
    window: ContextManager
    left_out: set[str]


class Agent:
    """A model server, a set of tools and settings, reusable across runs.

    Args:
        config: Server and loop settings.
        tools: The tools the model may call (or a ready `ToolRegistry`).
        profile: Sampling profile (name or object); None picks one by model id.
        system: A system prompt put first when a conversation has none. None (the default)
            uses the profile's own (`Profile.system_prompt`) when tools are offered; ``""``
            sends none.
        backend: Stand-in for the HTTP backend (tests use `ScriptedBackend`).
    """

    def __init__(
        self,
        *,
        config: AgentConfig,
        tools: Iterable[Tool] | ToolRegistry | None = None,
        profile: str | Profile | None = None,
        system: str | None = None,
        backend: Backend | None = None,
    ) -> None:
        self.config = config
        self._owns_registry = not isinstance(tools, ToolRegistry)
        self.registry = tools if isinstance(tools, ToolRegistry) else ToolRegistry(tools or ())
        self.profile_choice = profile if profile is not None else config.profile
        self.system = system
        self._owns_backend = backend is None
        self.backend: Backend = backend if backend is not None else OpenAIBackend(config)
        self._window: ContextManager | None = None

    async def __aenter__(self) -> Agent:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close what this agent made: the backend's connections, and the registry it built
        from the tools it was given (which stops their MCP servers)."""
        if self._owns_backend:
            await self.backend.aclose()
        if self._owns_registry:
            await self.registry.aclose()

    async def info(self) -> BackendInfo:
        """The server's model, kind and context size (asked once)."""
        return await self.backend.info()

    async def model_id(self) -> str:
        """The model id in use."""
        return (await self.backend.info()).model

    async def profile(self) -> Profile:
        """The sampling profile in use."""
        return resolve_profile(self.profile_choice, await self.model_id())

    def stream(self, prompt: str | None = None, **kwargs: Any) -> RunStream:
        """Run as `run` does, as an async iterator of the run's typed events.

        ``async for event in agent.stream("...")`` yields every event; afterwards
        `stream.result` holds the `RunResult`. Leaving the loop early cancels the run.
        """
        if "on_event" in kwargs:
            raise ConfigError("stream() delivers the events itself: drop on_event")
        return RunStream(lambda on_event: self.run(prompt, on_event=on_event, **kwargs))

    async def run(
        self,
        prompt: str | None = None,
        *,
        messages: Sequence[Mapping[str, Any]] | None = None,
        on_event: EventHandler | None = None,
        approver: Approver | None = None,
        transcript: str | Path | None = None,
        context: ToolContext | None = None,
        max_turns: int | None = None,
        sampling: Mapping[str, Any] | None = None,
        output_type: Any = None,
        output_retries: int = 2,
    ) -> RunResult:
        """Run until the model answers without calls, or a stop condition.

        Always returns a `RunResult`: cancelling the task ends the run as "cancelled", a
        server that fails after retries as "backend_error" or "context_overflow" with the
        typed error in `result.error`; the conversation so far is kept either way. Raises
        only `ConfigError`, on misuse.

        Args:
            output_type: A type (usually a pydantic model) the final answer must validate
                as; the value is on `result.final_output`.
            output_retries: Invalid final answers sent back to the model before the run
                stops with "invalid_output".
        """
        history = self._start_messages(prompt, messages)
        output = OutputSpec(output_type, retries=output_retries) if output_type else None
        state = RunState(
            messages=history,
            context=context or ToolContext(run_id=uuid.uuid4().hex),
            guard=RepeatGuard(self.config.repeat_limit),
            on_event=on_event,
            transcript=Transcript(transcript) if transcript else None,
        )
        registry = self._registry(output)
        try:
            return await self._loop(state, registry, approver, max_turns, sampling, output)
        finally:
            if registry is not self.registry:
                registry.close()
            if context is None:
                await state.context.aclose()
            if state.transcript is not None:
                state.transcript.close()

    async def _loop(
        self,
        state: RunState,
        registry: ToolRegistry,
        approver: Approver | None,
        max_turns: int | None,
        sampling: Mapping[str, Any] | None,
        output: OutputSpec | None,
    ) -> RunResult:
        try:
            info = await self.backend.info()
            state.model = info.model
            profile = resolve_profile(self.profile_choice, info.model)
            # The prompt is about the user's tools: `output_type`'s tool alone gets none (with
            # it the 0.5B stopped filling the typed answer in).
            self._add_system_prompt(state.messages, self._system_for(profile, self.registry))
            template_kwargs = {**profile.chat_template_kwargs, **self.config.chat_template_kwargs}
            run = _Run(
                profile=profile,
                registry=registry,
                approver=approver,
                max_turns=max_turns or self.config.max_turns,
                sampling={**self.config.sampling, **(sampling or {})},
                template_kwargs=template_kwargs,
                output=output,
                window=self._context_manager(info, template_kwargs),
                left_out=set(),
            )
            return await self._turns(state, run)
        except asyncio.CancelledError:
            state.close_open_calls(CANCELLED_MESSAGE)
            return await self._finish(state, "cancelled", "")
        except BackendError as exc:
            reason: StopReason = (
                "context_overflow" if isinstance(exc, ContextOverflow) else "backend_error"
            )
            return await self._finish(state, reason, "", error=exc)

    async def _turns(self, state: RunState, run: _Run) -> RunResult:
        while state.turn < run.max_turns:
            state.turn += 1
            reply = await self._ask_without_refused_tools(state, run)
            match decide(reply, guard=state.guard, output=run.output, nudges=state.nudges):
                case Answer(text, value):
                    return await self._finish(state, "completed", text, value=value)
                case Nudge(message):
                    state.messages.append({"role": "user", "content": message})
                case Stop(reason, text, refusal, error):
                    self._refuse(state, reply, refusal)
                    return await self._finish(state, reason, text, error=error)
                case RunCalls():
                    ended = await self._run_calls(state, run, reply)
                    if ended is not None:
                        return ended
        return await self._finish(state, "max_turns", "")

    async def _run_calls(self, state: RunState, run: _Run, reply: ParsedReply) -> RunResult | None:
        """Run a reply's calls; the result when one of them was the accepted final output."""
        records = await run_calls(
            run.registry,
            reply,
            turn=state.turn,
            context=state.context,
            approver=run.approver,
            emit=state.emit,
        )
        state.add_records(records)
        if reply.capped and records:  # so the model makes the rest of a chain step by step
            state.messages[-1]["content"] += CAPPED_NOTE.format(count=len(records))
        verdict = run.output.settle(records) if run.output is not None else None
        if verdict is None or run.output is None:
            return None
        if verdict.ok:
            text = run.output.as_text(verdict.value)
            return await self._finish(state, "completed", text, value=verdict.value)
        if run.output.give_up():
            error = run.output.error(verdict.problem)
            return await self._finish(state, "invalid_output", "", error=error)
        return None

    async def _ask_without_refused_tools(self, state: RunState, run: _Run) -> ParsedReply:
        """Ask; when the server refuses a tool's schema, leave that tool out of this run
        and ask again, so one bad schema never takes the other tools down."""
        while True:
            try:
                return await self._ask(state, run)
            except BackendHTTPError as exc:
                name = run.registry.rejected_tool(f"{exc.message} {exc.body or ''}")
                if name is None or name in run.left_out:
                    raise
                run.left_out.add(name)
                why = f"the server refused the schema of tool {name!r} ({exc.message})"
                await state.emit(RunWarning(state.turn, f"{why}: it is left out of this run"))

    async def _ask(self, state: RunState, run: _Run) -> ParsedReply:
        in_tool_loop = bool(state.messages) and state.messages[-1].get("role") == "tool"
        sampling = run.profile.settings(in_tool_loop=in_tool_loop, overrides=run.sampling)
        tools = [d for d in run.registry.definitions() if d["function"]["name"] not in run.left_out]
        # Only what is sent is fitted into the window; state.messages stays whole.
        fitted = await run.window.prepare(state.messages, tools)
        if fitted.compaction is not None:
            await state.emit(ContextCompacted(state.turn, fitted.compaction))
        if fitted.max_tokens is not None:
            cap = sampling.get("max_tokens")
            sampling["max_tokens"] = min(cap, fitted.max_tokens) if cap else fitted.max_tokens
        request = ChatRequest(
            messages=fitted.messages,
            tools=tools,
            sampling=sampling,
            chat_template_kwargs=run.template_kwargs,
            stream=self.config.stream,
            think_tags=run.profile.think_tags,
            max_calls=run.profile.max_calls_per_reply,
        )
        started = time.perf_counter()
        reply = await self.backend.complete(
            request,
            on_delta=state.on_delta,
            on_retry=state.on_retry,
            transcript=state.transcript,
            on_progress=state.on_progress,
        )
        warning = run.window.observe(reply.usage.prompt_tokens)
        if warning is not None:
            await state.emit(RunWarning(state.turn, warning.message))
        parsed = settle_calls(reply, run.registry, recover=self.config.recover_calls)
        state.messages.append(assistant_message(reply, parsed))
        state.usage += reply.usage
        state.reasoning = parsed.reasoning
        if self.config.log_content:  # the user asked for prompts and outputs in the logs
            calls = [(c.name, c.arguments) for c in parsed.calls]
            log.info("turn.content", turn=state.turn, content=parsed.content, calls=calls)
        await state.emit(
            TurnFinished(
                state.turn,
                reply.finish_reason,
                parsed.content,
                parsed.reasoning,
                len(parsed.calls) + len(parsed.truncated),
                reply.usage,
                time.perf_counter() - started,
                reply.time_to_first_token,
            )
        )
        return parsed

    def _context_manager(
        self, info: BackendInfo, template_kwargs: Mapping[str, Any]
    ) -> ContextManager:
        """The agent's context manager (one per agent: successive runs of one conversation
        keep their compacted prefix stable, which keeps the server's prompt cache warm)."""
        if self._window is None:
            window = resolve_window(info.context_size, self.config.context_size)
            self._window = ContextManager(
                window,
                self.config.context,
                counter=_ServerCounter(self.backend, template_kwargs),
                summarise=self._summarise,
            )
        return self._window

    async def _summarise(self, request: SummaryRequest) -> str:
        """One request for a summary of old turns (its own budget, no tools, no stream)."""
        reply = await self.backend.complete(
            ChatRequest(
                messages=request.messages,
                sampling={"max_tokens": request.max_tokens, "temperature": 0},
                stream=False,
            )
        )
        return reply.content

    def _refuse(self, state: RunState, reply: ParsedReply, refusal: str) -> None:
        """Answer every call of a reply that is not run, so the conversation stays valid."""
        if not refusal:
            return
        for call in (*reply.calls, *reply.truncated):
            record = make_record(call, state.turn, reply.recovered, refusal, "refused")
            state.records.append(record)
            state.messages.append(tool_message(record))

    def _registry(self, output: OutputSpec | None) -> ToolRegistry:
        if output is None:
            return self.registry
        if output.tool.name in self.registry:
            raise ConfigError(f"a tool is already named {output.tool.name!r}: rename it")
        tools = [self.registry.get(name) for name in self.registry.names()]
        return ToolRegistry([*(t for t in tools if t is not None), output.tool])

    async def _finish(
        self,
        state: RunState,
        reason: StopReason,
        output: str,
        *,
        error: AgentloopError | None = None,
        value: Any = None,
    ) -> RunResult:
        duration = time.perf_counter() - state.started
        await state.emit(RunFinished(reason, state.turn, state.usage, duration, output, error))
        log.info("run.finished", stop_reason=reason, turns=state.turn, seconds=round(duration, 3))
        if state.transcript is not None:
            state.transcript.record(
                {
                    "type": "run_finished",
                    "stop_reason": reason,
                    "error": str(error) if error is not None else None,
                    "messages": state.messages,
                }
            )
        return state.result(reason, output, error, duration, value)

    def _start_messages(
        self, prompt: str | None, messages: Sequence[Mapping[str, Any]] | None
    ) -> list[dict[str, Any]]:
        if (prompt is None) == (messages is None):
            raise ConfigError("give either a prompt or messages, not both and not neither")
        history = [dict(m) for m in messages] if messages is not None else []
        if prompt is not None:
            history.append({"role": "user", "content": prompt})
        if not history:
            raise ConfigError("messages is empty")
        return history

    async def system_prompt(self) -> str | None:
        """The system prompt a new conversation gets: the one given, else the profile's."""
        return self._system_for(await self.profile(), self.registry)

    def _system_for(self, profile: Profile, registry: ToolRegistry) -> str | None:
        if self.system is not None:
            return self.system or None
        return profile.system_prompt if len(registry) else None

    @staticmethod
    def _add_system_prompt(history: list[dict[str, Any]], system: str | None) -> None:
        if system and history[0].get("role") != "system":
            history.insert(0, {"role": "system", "content": system})


@dataclass(frozen=True, slots=True)
class _ServerCounter:
    """Counts prompt tokens through the backend (the server's own template and tokenizer)."""

    backend: Backend
    template_kwargs: Mapping[str, Any]

    async def count(
        self, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]]
    ) -> int | None:
        return await self.backend.count_tokens(messages, tools, self.template_kwargs)
