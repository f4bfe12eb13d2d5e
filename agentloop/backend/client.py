"""The one module that talks to the server through `openai`.

Requests are sent as plain JSON bodies through `AsyncOpenAI.post` (the SDK's transport,
auth and error types, without rebuilding typed request and response objects every turn);
responses are parsed by `agentloop.backend.parse`. Retries are ours (tenacity), not the
SDK's: exponential backoff with jitter on connection errors, timeouts, 408, 429 and 5xx,
honouring `Retry-After`; none on other 4xx.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import httpx2
import openai
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_random_exponential

from agentloop.backend.errors import (
    StatusFailure,
    StreamInterrupted,
    TransportFailure,
    describe_status_error,
    is_retryable,
    rejected_output,
    retry_after,
    to_backend_error,
)
from agentloop.backend.parse import ReplyBuilder
from agentloop.backend.runaway import RUNAWAY, RepetitionWatch, looping, repeats_a_call
from agentloop.backend.sse import sse_payloads
from agentloop.backend.think import CallMarkupGate, ThinkStream
from agentloop.backend.tokens import ServerTokenCounter
from agentloop.backend.types import (
    CALLS_CAPPED,
    REJECTED,
    BackendInfo,
    ChatRequest,
    DeltaHandler,
    DeltaKind,
    ModelReply,
    ProgressHandler,
    RetryHandler,
    TranscriptSink,
)
from agentloop.config import AgentConfig
from agentloop.errors import BackendError, ConfigError
from agentloop.logs import get_logger
from agentloop.profiles import ServerKind, wire_fields

log = get_logger(__name__)

T = TypeVar("T")


def _remote_protocol_errors() -> tuple[type[BaseException], ...]:
    """The types a dropped keep-alive connection is raised as: httpx2's own, and those of
    the transports below it (httpcore2, or httpx/httpcore under a mocking transport)."""
    found: list[type[BaseException]] = [httpx2.RemoteProtocolError]
    for name in ("httpcore2", "httpx", "httpcore"):
        module = sys.modules.get(name)
        error = getattr(module, "RemoteProtocolError", None)
        if isinstance(error, type) and issubclass(error, BaseException):
            found.append(error)
    return tuple(found)


_UNKNOWN = object()  # not asked yet (None means: asked, no such endpoint)


def make_http_client(config: AgentConfig) -> httpx2.AsyncClient:
    """The HTTP client every request goes through (the one place it is made)."""
    timeout = httpx2.Timeout(config.request_timeout, connect=config.connect_timeout)
    limits = httpx2.Limits(max_connections=128, max_keepalive_connections=64)
    # Loading the CA bundle costs ~19 ms of CPU per client: skip it for plain-HTTP servers.
    plain_http = (config.base_url or "").startswith("http://")
    return httpx2.AsyncClient(timeout=timeout, limits=limits, verify=not plain_http)


class OpenAIBackend:
    """An OpenAI-compatible chat-completions server (llama-server, vLLM, others)."""

    def __init__(
        self, config: AgentConfig, *, http_client: httpx2.AsyncClient | None = None
    ) -> None:
        if not config.base_url:
            raise ConfigError("no server configured: pass base_url or set AGENTLOOP_BASE_URL")
        self._config = config
        self._owns_http = http_client is None
        self._http = http_client or make_http_client(config)
        self._client = openai.AsyncOpenAI(
            base_url=config.base_url,
            api_key=config.api_key,
            max_retries=0,
            http_client=self._http,
        )
        self._model: str | None = config.model
        self._kind: ServerKind | None = config.server_kind
        self._models: list[dict[str, Any]] | None = None
        self._props: object = _UNKNOWN
        self._models_lock = asyncio.Lock()
        self._props_lock = asyncio.Lock()
        self._info: BackendInfo | None = None
        self._counters: dict[str, ServerTokenCounter] = {}

    @property
    def base_url(self) -> str:
        """The server's OpenAI-compatible root URL."""
        return str(self._config.base_url)

    async def aclose(self) -> None:
        """Close the connection pool (when this backend made it)."""
        if self._owns_http:
            await self._http.aclose()

    # -- discovery ---------------------------------------------------------------------

    async def list_models(self) -> list[dict[str, Any]]:
        """`GET /models`, as plain dicts (cached)."""
        async with self._models_lock:  # concurrent first runs ask the server once
            if self._models is None:
                response = await self._retrying(lambda: self._get_json("models"), None)
                data = response.get("data") if isinstance(response, dict) else None
                self._models = [m for m in data or [] if isinstance(m, dict)]
        return self._models

    async def model_id(self) -> str:
        """The configured model id, or the first one the server lists."""
        if self._model is None:
            models = await self.list_models()
            if not models or not models[0].get("id"):
                raise BackendError(
                    "the server lists no models", hint="pass --model or set AGENTLOOP_MODEL"
                )
            self._model = str(models[0]["id"])
        return self._model

    async def props(self) -> dict[str, Any] | None:
        """llama-server's `GET /props` (None when the server has no such endpoint)."""
        async with self._props_lock:
            if self._props is _UNKNOWN:
                self._props = await self._fetch_props()
        return self._props if isinstance(self._props, dict) else None

    async def _fetch_props(self) -> dict[str, Any] | None:
        root = self.base_url.rstrip("/")
        root = root[: -len("/v1")] if root.endswith("/v1") else root
        try:
            data = await self._get_json(f"{root}/props")
        except (BackendError, StatusFailure, TransportFailure, ValueError):
            return None
        return data if isinstance(data, dict) else None

    async def server_kind(self) -> ServerKind:
        """Configured, else detected: llama-server answers /props, vLLM owns its models."""
        if self._kind is None:
            models = await self.list_models()
            if any(m.get("owned_by") == "vllm" for m in models):
                self._kind = "vllm"
            else:
                props = await self.props()
                llama = props is not None and ("default_generation_settings" in props)
                self._kind = "llama" if llama else "openai"
            log.debug("backend.detected", server_kind=self._kind)
        return self._kind

    async def info(self) -> BackendInfo:
        """Model, kind, context size and capabilities, asked once (see `BackendInfo`)."""
        if self._info is None:
            model, kind = await self.model_id(), await self.server_kind()
            props = await self.props() if kind == "llama" else None
            capabilities = {"response_format"} if kind in ("llama", "vllm") else set()
            if kind in ("llama", "vllm"):
                capabilities.add("tokenize")
            if props is not None:
                capabilities.add("props")
            self._info = BackendInfo(
                model, kind, await self.context_size(), frozenset(capabilities)
            )
        return self._info

    async def count_tokens(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
        chat_template_kwargs: Mapping[str, Any],
    ) -> int | None:
        """Prompt tokens of a request, by the server's own template and tokenizer
        (llama-server, vLLM); None when the server cannot count (asked once)."""
        key = json.dumps(chat_template_kwargs, sort_keys=True, default=str)
        counter = self._counters.get(key)
        if counter is None:
            info = await self.info()
            counter = ServerTokenCounter(
                self._http,
                self.base_url,
                info.kind,
                model=info.model,
                chat_template_kwargs=chat_template_kwargs,
            )
            self._counters[key] = counter
        return await counter.count(messages, tools)

    async def context_size(self) -> int | None:
        """The server's context window in tokens, when it says."""
        for model in await self.list_models():
            for key in ("max_model_len", "context_length"):
                if isinstance(model.get(key), int):
                    return int(model[key])
            meta = model.get("meta")
            if isinstance(meta, dict) and isinstance(meta.get("n_ctx_train"), int):
                break
        props = await self.props()
        if props:
            settings = props.get("default_generation_settings") or {}
            n_ctx = settings.get("n_ctx") or props.get("n_ctx")
            if isinstance(n_ctx, int):
                return n_ctx
        return None

    async def _get_json(self, path: str) -> Any:
        try:
            response = await self._client.get(path, cast_to=httpx2.Response)
        except openai.APIError as exc:
            raise _translate(exc) from exc
        try:
            return json.loads(response.text)
        except ValueError:  # e.g. a web UI's HTML page at a URL without /v1
            kind = response.headers.get("content-type", "no content type")
            raise BackendError(
                f"{response.url} answered {kind}, not JSON",
                hint="point --base-url at the OpenAI-compatible API, usually ending in /v1",
            ) from None

    # -- chat completions --------------------------------------------------------------

    async def complete(
        self,
        request: ChatRequest,
        *,
        on_delta: DeltaHandler | None = None,
        on_retry: RetryHandler | None = None,
        transcript: TranscriptSink | None = None,
        on_progress: ProgressHandler | None = None,
    ) -> ModelReply:
        """Send one chat-completions request (retried as configured) and parse the reply."""
        body = await self._body(request)
        if transcript is not None:
            transcript.record({"type": "request", "url": self.base_url, "body": body})

        # vLLM splits reasoning off itself; elsewhere a `</think>` may come in the content.
        implicit_think = request.think_tags and await self.server_kind() != "vllm"

        async def once() -> ModelReply:
            handlers = _Handlers(on_delta, on_progress)
            return await self._send(body, request, implicit_think, handlers, transcript)

        return await self._retrying(once, on_retry)

    async def _body(self, request: ChatRequest) -> dict[str, Any]:
        kind = await self.server_kind()
        body: dict[str, Any] = {"model": await self.model_id(), "messages": request.messages}
        if request.tools:
            body["tools"] = request.tools
            if self._config.parallel_tool_calls:
                body["parallel_tool_calls"] = True
        body.update(wire_fields(request.sampling, kind))
        if request.chat_template_kwargs:
            body["chat_template_kwargs"] = dict(request.chat_template_kwargs)
        body.update(request.params)
        if request.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
            if kind == "llama":  # prompt progress while a long prompt is read (CPU servers)
                body["return_progress"] = True
        return body

    async def _send(
        self,
        body: dict[str, Any],
        request: ChatRequest,
        implicit_think: bool,
        handlers: _Handlers,
        transcript: TranscriptSink | None,
    ) -> ModelReply:
        on_delta = handlers.on_delta
        started = time.perf_counter()
        try:
            response = await self._client.post(
                "chat/completions", body=body, cast_to=httpx2.Response, stream=request.stream
            )
        except openai.APIError as exc:
            failure = _translate(exc)
            if transcript is not None and isinstance(failure, StatusFailure):
                transcript.record(
                    {"type": "response", "status": failure.status, "body": failure.body}
                )
            rejected = rejected_output(failure)
            if rejected is not None:
                # Not worth a retry: the model gets its own output back, or a nudge.
                log.info("backend.output_rejected", quoted=bool(rejected))
                return ModelReply(content=rejected, finish_reason=REJECTED)
            raise failure from exc
        # Some servers and proxies answer a streaming request with plain JSON: read it whole.
        streamed = request.stream and "json" not in response.headers.get("content-type", "")
        try:
            if streamed:
                return await _read_stream(
                    response, implicit_think, handlers, transcript, started, request.max_calls
                )
            raw = await response.aread()
        finally:
            await response.aclose()
        text = raw.decode("utf-8", errors="replace")
        if transcript is not None:
            transcript.record({"type": "response", "status": response.status_code, "body": text})
        builder = ReplyBuilder()
        builder.add_body(json.loads(text))
        reply = _cap_calls(builder.build(), request.max_calls)
        if looping(reply.reasoning + reply.content):
            reply = replace(reply, finish_reason=RUNAWAY)
        if request.stream and on_delta is not None:  # keep the stream of events whole
            await _emit(on_delta, None, reply.content, reply.reasoning)
        return reply

    async def _retrying(self, fn: Callable[[], Awaitable[T]], on_retry: RetryHandler | None) -> T:
        retryer = AsyncRetrying(
            retry=retry_if_exception(is_retryable),
            stop=stop_after_attempt(self._config.max_retries + 1),
            wait=self._wait,
            before_sleep=_before_sleep(on_retry),
            reraise=True,
        )
        try:
            async for attempt in retryer:
                with attempt:
                    return await fn()
        except (StatusFailure, TransportFailure, StreamInterrupted) as exc:
            raise to_backend_error(exc, self.base_url) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        never_sent = isinstance(exc, TransportFailure) and exc.never_sent
        if never_sent and state.attempt_number == 1:
            return 0.0  # a stale keep-alive connection: the request never got there
        backoff = wait_random_exponential(multiplier=0.5, max=self._config.retry_max_wait)(state)
        hinted = retry_after(exc) if exc is not None else None
        return max(backoff, min(hinted, 60.0)) if hinted is not None else backoff


async def _read_stream(
    response: httpx2.Response,
    implicit_think: bool,
    handlers: _Handlers,
    transcript: TranscriptSink | None,
    started: float,
    max_calls: int | None,
) -> ModelReply:
    builder = ReplyBuilder()
    think = ThinkStream(implicit=implicit_think)
    sink = _GatedDeltas(handlers.on_delta) if handlers.on_delta is not None else None
    lines: list[str] = []
    first: float | None = None
    watch, runaway, calls_seen, repeated_calls, capped = RepetitionWatch(), False, 0, False, False
    try:
        async for line in response.aiter_lines():
            if transcript is not None:
                lines.append(line)
            if not line.startswith("data:"):
                continue
            for chunk in sse_payloads([line]):
                if "error" in chunk and not chunk.get("choices"):
                    raise StreamInterrupted(describe_status_error(chunk))
                if "prompt_progress" in chunk:
                    await handlers.progress(chunk["prompt_progress"])
                text, thought = builder.add_chunk(chunk)
                if (text or thought) and first is None:
                    first = time.perf_counter() - started
                if sink is not None:
                    # Once the server splits reasoning off itself, content is plain answer.
                    plain = builder.reasoning_field is not None
                    await _emit(sink, None if plain else think, text, thought)
                runaway = watch.feed(thought + text)
                if len(builder.calls) != calls_seen:
                    calls_seen = len(builder.calls)
                    finished = builder.finished_calls()
                    repeated_calls = repeats_a_call(finished)
                    capped = max_calls is not None and len(finished) >= max_calls
            if runaway:  # closing the response stops the server generating (llama-server)
                log.info("backend.runaway_reply", chars=sum(map(len, builder.content)))
                break
            if repeated_calls:
                log.info("backend.repeated_calls_cut", calls=len(builder.calls))
                builder.keep_distinct_calls()
                break
            if capped:  # the next call has begun: the reply has all it may run
                log.info("backend.calls_capped", calls=max_calls)
                builder.keep_first_calls(max_calls or 0)
                break
    except httpx2.HTTPError as exc:
        raise StreamInterrupted(f"the reply broke off mid-stream ({exc!r})") from exc
    finally:
        if transcript is not None:
            transcript.record({"type": "sse", "status": response.status_code, "lines": lines})
    if sink is not None:
        for kind, piece in think.finish():
            await sink(kind, piece)
        await sink.finish()
    reply = _cap_calls(builder.build(time_to_first_token=first), max_calls)
    return replace(reply, finish_reason=RUNAWAY) if runaway else reply


def _cap_calls(reply: ModelReply, max_calls: int | None) -> ModelReply:
    """The reply with its first `max_calls` calls only, when it made more."""
    if max_calls is None or len(reply.tool_calls) <= max_calls:
        return reply
    return replace(reply, tool_calls=reply.tool_calls[:max_calls], finish_reason=CALLS_CAPPED)


@dataclass(frozen=True, slots=True)
class _Handlers:
    """The caller's callbacks for one streamed reply."""

    on_delta: DeltaHandler | None
    on_progress: ProgressHandler | None

    async def progress(self, data: Any) -> None:
        """llama-server's `prompt_progress` ({total, cache, processed, ...})."""
        if self.on_progress is None or not isinstance(data, dict):
            return
        numbers = [data.get(key) for key in ("processed", "total", "cache")]
        if all(isinstance(n, int) for n in numbers):
            await _call(self.on_progress, *numbers)


class _GatedDeltas:
    """Passes deltas on, holding back call markup (see `CallMarkupGate`)."""

    def __init__(self, on_delta: DeltaHandler) -> None:
        self._on_delta = on_delta
        self._gates = {"text": CallMarkupGate(), "reasoning": CallMarkupGate()}

    async def __call__(self, kind: DeltaKind, text: str) -> None:
        shown = self._gates[kind].feed(text)
        if shown:
            await _call(self._on_delta, kind, shown)

    async def finish(self) -> None:
        for kind, gate in self._gates.items():
            rest = gate.finish()
            if rest:
                await _call(self._on_delta, kind, rest)


async def _emit(on_delta: DeltaHandler, think: ThinkStream | None, text: str, thought: str) -> None:
    if thought:
        await _call(on_delta, "reasoning", thought)
    if text and think is None:
        await _call(on_delta, "text", text)
    elif text and think is not None:
        for kind, piece in think.feed(text):
            await _call(on_delta, kind, piece)


async def _call(handler: Any, *args: Any) -> None:
    result = handler(*args)
    if result is not None:
        await result


def _before_sleep(on_retry: RetryHandler | None) -> Any:
    async def hook(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        reason = str(exc) if exc is not None else "error"
        log.info("backend.retry", attempt=state.attempt_number, wait=round(wait, 2), reason=reason)
        if on_retry is not None:
            await _call(on_retry, state.attempt_number, wait, reason)

    return hook


def _translate(exc: openai.APIError) -> Exception:
    """The SDK's exception as one of our plain failures (see `backend.errors`)."""
    if isinstance(exc, openai.APIStatusError):
        try:
            body: Any = exc.body if exc.body is not None else json.loads(exc.response.text)
        except (ValueError, httpx2.ResponseNotRead):
            body = None
        return StatusFailure(exc.status_code, body, dict(exc.response.headers))
    cause = exc.__cause__ or exc
    never_sent = isinstance(cause, _remote_protocol_errors()) and "without sending" in str(cause)
    return TransportFailure(
        f"{type(cause).__name__}: {cause}".rstrip(": "),
        never_sent=never_sent,
        timed_out=isinstance(exc, openai.APITimeoutError),
    )
