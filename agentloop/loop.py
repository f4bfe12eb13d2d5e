"""The agent loop: ask the model, run its calls, append the results, repeat.

One turn is one model reply. Each turn ends in one of three outcomes: a final answer
(stop), calls to run (go on), or a reason to stop early (repeated calls). Everything
else — parsing, recovery, retries, running tools — lives in the modules it belongs to.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from agentloop.backend import Backend, ChatRequest, OpenAIBackend
from agentloop.backend.tokens import ServerTokenCounter
from agentloop.calls import (
    CANCELLED_MESSAGE,
    ParsedReply,
    assistant_message,
    make_record,
    run_calls,
    settle_calls,
    signature,
    tool_message,
)
from agentloop.config import AgentConfig
from agentloop.context import ContextManager, SummaryRequest, resolve_window
from agentloop.errors import BackendError, BackendHTTPError, ConfigError
from agentloop.events import (
    EventHandler,
    RunFinished,
    TurnFinished,
)
from agentloop.logs import get_logger
from agentloop.profiles import Profile, resolve_profile, wire_fields
from agentloop.result import RunResult, StopReason
from agentloop.run_state import RunState
from agentloop.transcript import Transcript
from tools import Approver, Tool, ToolContext, ToolRegistry

log = get_logger(__name__)

REPEATED_MESSAGE = "Not run: the same call was already made {n} times in a row."
REJECTED_NUDGE = (
    "The server could not read your last reply as text or as a tool call. Answer again; "
    "to use a tool, send one well-formed call with JSON arguments."
)


class Agent:
    """A model server, a set of tools and settings, reusable across runs.

    Args:
        config: Server and loop settings.
        tools: The tools the model may call (or a ready `ToolRegistry`).
        profile: Sampling profile (name or object); None picks one by model id.
        system: A system prompt put first when a conversation has none.
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
        self.registry = tools if isinstance(tools, ToolRegistry) else ToolRegistry(tools or ())
        self.profile_choice = profile if profile is not None else config.profile
        self.system = system
        self._owns_backend = backend is None
        self.backend: Backend = backend if backend is not None else OpenAIBackend(config)

    async def __aenter__(self) -> Agent:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the backend's connections (when this agent made the backend)."""
        if self._owns_backend:
            await self.backend.aclose()

    async def model_id(self) -> str:
        """The model id in use."""
        return await self.backend.model_id()

    async def profile(self) -> Profile:
        """The sampling profile in use."""
        return resolve_profile(self.profile_choice, await self.model_id())

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
    ) -> RunResult:
        """Run until the model answers without calls, or a stop condition.

        Cancelling the task ends the run with stop reason "cancelled"; the conversation so
        far is kept. Raises `BackendUnavailable` (with `.partial`) when the server cannot
        be reached after retries, and `ConfigError` on misuse.
        """
        history = self._start_messages(prompt, messages)
        owned_context = context is None
        state = RunState(
            messages=history,
            context=context or ToolContext(run_id=uuid.uuid4().hex),
            on_event=on_event,
            transcript=Transcript(transcript) if transcript else None,
        )
        try:
            return await self._loop(state, approver, max_turns or self.config.max_turns, sampling)
        finally:
            if owned_context:
                await state.context.aclose()
            if state.transcript is not None:
                state.transcript.close()

    async def _loop(
        self,
        state: RunState,
        approver: Approver | None,
        max_turns: int,
        sampling: Mapping[str, Any] | None,
    ) -> RunResult:
        try:
            state.model = await self.model_id()
            profile = resolve_profile(self.profile_choice, state.model)
            kind = await self.backend.server_kind()
            fit = await self._context_manager(kind, profile)  # TEMP integration hook (issue 10)
            while state.turn < max_turns:
                state.turn += 1
                parsed = await self._ask(state, profile, kind, sampling, fit)
                if parsed.rejected and not parsed.calls:
                    state.messages.append({"role": "user", "content": REJECTED_NUDGE})
                    continue
                if not parsed.calls and not parsed.truncated:
                    return await self._finish(
                        state, "completed", parsed.content or parsed.reasoning
                    )
                if state.repeats(signature(parsed.calls), self.config.repeat_limit):
                    self._refuse_repeated(state, parsed)
                    return await self._finish(state, "repeated_calls", parsed.content)
                state.add_records(
                    await run_calls(
                        self.registry,
                        parsed,
                        turn=state.turn,
                        context=state.context,
                        approver=approver,
                        emit=state.emit,
                    )
                )
            return await self._finish(state, "max_turns", "")
        except asyncio.CancelledError:
            state.close_open_calls(CANCELLED_MESSAGE)
            return await self._finish(state, "cancelled", "")
        except BackendHTTPError as exc:
            return await self._finish(state, "backend_error", "", error=str(exc))
        except BackendError as exc:
            exc.partial = await self._finish(state, "backend_error", "", error=str(exc))
            raise

    async def _context_manager(self, kind: Any, profile: Profile) -> ContextManager:
        """TEMP integration hook (issue 10): the lead redoes this on the new loop."""
        size = getattr(self.backend, "context_size", None)
        try:
            server_size = await size() if size else None
        except Exception:  # TEMP: discovery moves to Backend.info() in the new loop
            server_size = None
        window = resolve_window(server_size, self.config.context_size)
        http = getattr(self.backend, "_http", None)
        counter = None
        if http is not None and self.config.base_url:
            kwargs = {**profile.chat_template_kwargs, **self.config.chat_template_kwargs}
            counter = ServerTokenCounter(
                http,
                self.config.base_url,
                kind,
                model=await self.model_id(),
                chat_template_kwargs=kwargs,
            )

        async def summarise(request: SummaryRequest) -> str:
            params = {"max_tokens": request.max_tokens, "temperature": 0}
            reply = await self.backend.complete(
                ChatRequest(messages=request.messages, params=params, stream=False)
            )
            return reply.content

        return ContextManager(window, self.config.context, counter=counter, summarise=summarise)

    async def _ask(
        self,
        state: RunState,
        profile: Profile,
        kind: Any,
        sampling: Mapping[str, Any] | None,
        fit: ContextManager,
    ) -> ParsedReply:
        in_tool_loop = bool(state.messages) and state.messages[-1].get("role") == "tool"
        params = wire_fields(profile.settings(in_tool_loop=in_tool_loop, overrides=sampling), kind)
        template_kwargs = {**profile.chat_template_kwargs, **self.config.chat_template_kwargs}
        if template_kwargs:
            params["chat_template_kwargs"] = template_kwargs
        tools = self.registry.definitions()
        prepared = await fit.prepare(state.messages, tools)
        if prepared.compaction is not None:
            log.info("context.compaction", what=prepared.compaction.describe())
        if prepared.max_tokens is not None:
            params["max_tokens"] = min(params.get("max_tokens", 1 << 30), prepared.max_tokens)
        request = ChatRequest(
            messages=prepared.messages,
            tools=tools,
            params=params,
            stream=self.config.stream,
            implicit_think=profile.think_tags and kind != "vllm",
        )
        started = time.perf_counter()
        reply = await self.backend.complete(
            request, on_delta=state.on_delta, on_retry=state.on_retry, transcript=state.transcript
        )
        warning = fit.observe(reply.usage.prompt_tokens)
        if warning is not None:
            log.warning("context.truncated", message=warning.message)
        parsed = settle_calls(reply, self.registry, recover=self.config.recover_calls)
        state.messages.append(assistant_message(reply, parsed))
        state.usage += reply.usage
        state.reasoning = parsed.reasoning
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

    def _refuse_repeated(self, state: RunState, parsed: ParsedReply) -> None:
        message = REPEATED_MESSAGE.format(n=self.config.repeat_limit - 1)
        for call in (*parsed.calls, *parsed.truncated):
            record = make_record(call, state.turn, parsed.recovered, message, "refused")
            state.records.append(record)
            state.messages.append(tool_message(record))

    async def _finish(
        self, state: RunState, reason: StopReason, output: str, *, error: str | None = None
    ) -> RunResult:
        duration = time.perf_counter() - state.started
        await state.emit(RunFinished(reason, state.turn, state.usage, duration, output, error))
        log.info("run.finished", stop_reason=reason, turns=state.turn, seconds=round(duration, 3))
        if state.transcript is not None:
            state.transcript.record(
                {
                    "type": "run_finished",
                    "stop_reason": reason,
                    "error": error,
                    "messages": state.messages,
                }
            )
        return state.result(reason, output, error, duration)

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
        if self.system and history[0].get("role") != "system":
            history.insert(0, {"role": "system", "content": self.system})
        return history
