"""A real-HTTP fake OpenAI-compatible server for tests and benchmarks.

`FakeOpenAIServer` listens on 127.0.0.1 in a background thread (its own asyncio loop, HTTP/1.1
with keep-alive) and answers ``POST /v1/chat/completions`` from a script of canned replies, in
the wire format of llama-server (or vLLM with ``kind="vllm"``): plain JSON, or SSE when the
request says ``"stream": true`` with content and tool-call arguments cut into token-sized
deltas. It also serves ``GET /v1/models``, ``GET /health`` and, for llama-server, ``GET /props``.

Example::

    with FakeOpenAIServer([FakeReply(tool_calls=[("add", {"a": 1})]), FakeReply("2")]) as srv:
        client = OpenAI(base_url=srv.base_url, api_key="x")
        ...
        assert srv.requests[1]["messages"][-1]["role"] == "tool"
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from agentloop.testing import _wire

Json = dict[str, Any]

_JSON_TYPE = "application/json; charset=utf-8"
_MAX_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class FakeReply:
    """One canned answer of the fake server.

    Attributes:
        content: Assistant text (streamed in token-sized pieces).
        tool_calls: ``(name, arguments)`` pairs; arguments as a dict (JSON-encoded on the
            wire) or a raw string (sent as is, e.g. broken JSON or a truncated call).
        reasoning: Thinking text, sent as ``reasoning_content`` (llama-server) or
            ``reasoning`` (vLLM) unless the server was given another ``reasoning_field``.
        finish_reason: Defaults to ``"tool_calls"`` when there are calls, else ``"stop"``.
        status: HTTP status; anything but 200 sends ``error_body`` instead of a completion.
        error_body: The error JSON (a dict, or a raw string); defaults to llama-server's shape
            ``{"error": {"code", "message", "type"}}``.
        delay: Seconds to wait before answering; overrides the server's ``latency``.
        disconnect: Close the connection without any response, as a server that dropped a
            pooled keep-alive connection does ("Server disconnected without sending a
            response").
        headers: Extra response headers, e.g. ``{"Retry-After": "1"}``.
    """

    content: str = ""
    tool_calls: Sequence[tuple[str, Mapping[str, Any] | str]] = ()
    reasoning: str | None = None
    finish_reason: str | None = None
    status: int = 200
    error_body: Mapping[str, Any] | str | None = None
    delay: float | None = None
    disconnect: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)


ScriptItem = FakeReply | Callable[[Json], FakeReply]


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FakeOpenAIServer:
    """An OpenAI-compatible HTTP server on 127.0.0.1 that replays a script.

    Use it as a context manager (``with`` or ``async with``) or call `start` / `stop`.
    Script items are `FakeReply` values or callables ``(request_body) -> FakeReply``; each
    chat request takes the next item, and the last item repeats once the script runs out.

    Args:
        script: The replies, in order. Empty means one ``FakeReply("ok")``.
        latency: Seconds every chat reply waits before answering (``FakeReply.delay`` wins).
        kind: Which server to imitate: ``"llama"`` (llama-server) or ``"vllm"``.
        model: The model id listed by ``/v1/models`` and echoed in completions.
        n_ctx: Context size reported by ``/props`` and ``/v1/models``.
        chat_template: The template ``/props`` reports.
        reasoning_field: Field name for reasoning text; defaults by ``kind``.
        port: Port to bind; 0 picks a free one.
    """

    def __init__(
        self,
        script: Sequence[ScriptItem] = (),
        *,
        latency: float = 0.0,
        kind: _wire.FakeKind = "llama",
        model: str = "fake-model.gguf",
        n_ctx: int = 4096,
        chat_template: str = "{{ messages }}",
        reasoning_field: str | None = None,
        port: int = 0,
    ) -> None:
        self._script: list[ScriptItem] = list(script) or [FakeReply("ok")]
        self._latency = latency
        self._wire = _wire.Wire(
            kind=kind,
            model=model,
            n_ctx=n_ctx,
            chat_template=chat_template,
            reasoning_field=reasoning_field
            or ("reasoning" if kind == "vllm" else "reasoning_content"),
        )
        self._port = port
        self._next = 0
        self._lock = threading.Lock()
        self._requests: list[Json] = []
        self._paths: list[str] = []
        self._connections = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    @property
    def url(self) -> str:
        """The server root, ``http://127.0.0.1:PORT`` (where ``/props`` and ``/health`` are)."""
        if self._thread is None:
            raise RuntimeError("FakeOpenAIServer is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def requests(self) -> list[Json]:
        """The JSON bodies of the chat requests received so far, in order."""
        with self._lock:
            return list(self._requests)

    @property
    def paths(self) -> list[str]:
        """``"METHOD /path"`` of every request received so far, in order."""
        with self._lock:
            return list(self._paths)

    @property
    def connections(self) -> int:
        """How many TCP connections were accepted so far (keep-alive reuses one)."""
        with self._lock:
            return self._connections

    def start(self) -> FakeOpenAIServer:
        """Start serving in a background thread; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("FakeOpenAIServer is already started")
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="fake-openai-server", daemon=True
        )
        self._thread.start()
        ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError("FakeOpenAIServer failed to start") from self._error
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = self._loop = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> FakeOpenAIServer:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        try:
            server = loop.run_until_complete(
                asyncio.start_server(self._serve, "127.0.0.1", self._port, backlog=512)
            )
        except OSError as exc:
            self._error = exc
            loop.close()
            ready.set()
            return
        self._port = server.sockets[0].getsockname()[1]
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self._connections += 1
        try:
            while (request := await _read_request(reader)) is not None:
                if not await self._dispatch(request, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            # Only `stop` cancels handlers. Ending normally keeps asyncio's stream callback
            # (which calls task.exception()) from printing a traceback at shutdown.
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _dispatch(self, request: _Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; returns whether the connection stays open."""
        with self._lock:
            self._paths.append(f"{request.method} {request.path}")
        keep_alive = request.headers.get("connection", "").lower() != "close"
        path = request.path.split("?", 1)[0].rstrip("/")
        if request.method == "POST" and path in ("/v1/chat/completions", "/chat/completions"):
            return await self._chat(request, writer) and keep_alive
        if request.method == "GET":
            found = self._wire.info(path)
            if found is not None:
                _write_json(writer, 200, found, self._wire.server_header)
                await writer.drain()
                return keep_alive
        body = self._wire.error_body(404, "File Not Found")
        _write_json(writer, 404, body, self._wire.server_header)
        await writer.drain()
        return keep_alive

    async def _chat(self, request: _Request, writer: asyncio.StreamWriter) -> bool:
        try:
            body = json.loads(request.body)
            if not isinstance(body, dict):
                raise ValueError("the request body must be a JSON object")
        except ValueError as exc:
            _write_json(writer, 400, self._wire.error_body(400, str(exc)), self._wire.server_header)
            await writer.drain()
            return True
        with self._lock:
            self._requests.append(body)
            item = self._script[min(self._next, len(self._script) - 1)]
            self._next += 1
        reply = item if isinstance(item, FakeReply) else item(body)
        delay = self._latency if reply.delay is None else reply.delay
        if delay > 0:
            await asyncio.sleep(delay)
        if reply.disconnect:
            return False
        headers = {**self._wire.server_header, **reply.headers}
        if reply.status != 200:
            error = reply.error_body
            if error is None:
                error = self._wire.error_body(reply.status, http_phrase(reply.status))
            _write_json(writer, reply.status, error, headers)
        elif body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = self._wire.stream_events(reply, len(request.body), include_usage)
            _write_sse(writer, events, headers)
        else:
            _write_json(writer, 200, self._wire.completion(reply, len(request.body)), headers)
        await writer.drain()
        return True


def http_phrase(status: int) -> str:
    """The standard reason phrase of an HTTP status (``"Error"`` when unknown)."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    """Read one HTTP/1.1 request; None when the client closed the connection cleanly."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise
        return None
    if len(head) > _MAX_HEADER_BYTES:
        raise ConnectionError("request head too large")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return _Request(method.upper(), target, headers, body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _head(status: int, content_type: str, headers: Mapping[str, str], length: int | None) -> bytes:
    lines = [f"HTTP/1.1 {status} {http_phrase(status)}", f"Content-Type: {content_type}"]
    if length is None:
        lines.append("Transfer-Encoding: chunked")
    else:
        lines.append(f"Content-Length: {length}")
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    lines.append("Keep-Alive: timeout=5, max=100000")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _write_json(
    writer: asyncio.StreamWriter,
    status: int,
    body: Mapping[str, Any] | str,
    headers: Mapping[str, str],
) -> None:
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    data = text.encode()
    writer.write(_head(status, _JSON_TYPE, headers, len(data)) + data)


def _write_sse(writer: asyncio.StreamWriter, events: list[str], headers: Mapping[str, str]) -> None:
    """Write SSE events as one HTTP chunk each, as llama-server does."""
    out = [_head(200, "text/event-stream", headers, None)]
    for event in events:
        data = f"data: {event}\n\n".encode()
        out.append(b"%x\r\n%s\r\n" % (len(data), data))
    out.append(b"0\r\n\r\n")
    writer.write(b"".join(out))
