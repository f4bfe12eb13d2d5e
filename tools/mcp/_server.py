"""`MCPServer`: the tools of one MCP server, callable from any event loop.

The connection lives on an event loop in a thread of its own, so that a server can be
started from sync code (`ToolRegistry([MCPServer.stdio(...)])`), outlive the `asyncio.run`
of one `run_agent` call, and be stopped from `close()` wherever that is called.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import weakref
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

from tools._log import get_logger
from tools._tool import Tool
from tools._types import ToolDefinition, ToolError
from tools.mcp._config import MCPServerConfig, config_from_spec, name_from_command
from tools.mcp._content import result_text
from tools.mcp._process import group_alive, kill_group
from tools.mcp._session import Session

log = get_logger(__name__)
T = TypeVar("T")


class MCPServer:
    """An MCP server as a source of tools: add it to a `ToolRegistry` (or `tools=[...]`).

    Started on first use (or `await server.start()`), stopped by `close()`/`aclose()` or
    `async with` (a registry closes its servers when it closes). A call that fails because
    the server died or hung becomes a tool error for the model, and the server is started
    again on the next call; so is a closed server that is used again.

    Args:
        config: What to run or connect to, timeouts, allow/deny lists, approval.
    """

    def __init__(self, config: MCPServerConfig) -> None:
        self.config = config
        self._tools: list[Tool] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._session: Session | None = None
        self._restart_lock: asyncio.Lock | None = None
        self._pids: list[int] = []
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._lock = threading.Lock()
        self._closing: set[asyncio.Task[None]] = set()

    @classmethod
    def stdio(cls, command: str, *args: str, name: str | None = None, **options: Any) -> MCPServer:
        """A server run as a subprocess, e.g. ``MCPServer.stdio("uvx", "mcp-server-time")``.

        Args:
            command: The executable.
            *args: Its arguments.
            name: Short name (default: from the command).
            **options: Other `MCPServerConfig` fields (env, cwd, timeouts, allow, deny, ...).
        """
        label = name or name_from_command([command, *args])
        return cls(MCPServerConfig(name=label, command=command, args=tuple(args), **options))

    @classmethod
    def http(cls, url: str, *, name: str | None = None, **options: Any) -> MCPServer:
        """A Streamable HTTP server at `url` (headers, timeouts, ... as in `MCPServerConfig`)."""
        return cls(config_from_spec(url, name=name, **options))

    @property
    def name(self) -> str:
        """The server's short name (the prefix of clashing tool names)."""
        return self.config.name

    @property
    def pid(self) -> int | None:
        """PID (and process group) of the running stdio server, if any."""
        session = self._session
        return session.pid if session is not None else None

    def tools(self) -> list[Tool]:
        """The server's tools (allow/deny applied); starts the server if needed (blocking)."""
        if self._tools is None:
            self._tools = self._submit(self._start_in_loop()).result()
        return list(self._tools)

    async def start(self) -> list[Tool]:
        """Start the server (if needed) without blocking the caller's event loop."""
        if self._tools is None:
            self._tools = await asyncio.wrap_future(self._submit(self._start_in_loop()))
        return list(self._tools)

    def close(self) -> None:
        """Stop the server (its process group, by PID) and its thread; idempotent."""
        with self._lock:
            loop, thread, session = self._loop, self._thread, self._session
            self._loop = self._thread = self._session = self._restart_lock = None
            self._tools = None
        if loop is None or thread is None:
            return
        if session is not None:
            future = asyncio.run_coroutine_threadsafe(session.close(), loop)
            try:
                future.result(timeout=15)
            except (concurrent.futures.TimeoutError, Exception) as exc:
                log.info("mcp.close_failed", server=self.name, error_type=type(exc).__name__)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        if not thread.is_alive():
            loop.close()
        if self._finalizer is not None:
            self._finalizer()  # kills any group still alive, once

    async def aclose(self) -> None:
        """`close` without blocking the caller's event loop."""
        await asyncio.to_thread(self.close)

    async def __aenter__(self) -> MCPServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"MCPServer({self.name!r}, {self.config.target!r})"

    # --- on the server's own loop -------------------------------------------------------

    def _submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name=f"mcp-{self.name}", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
                self._pids = []
                # The process groups are stopped even if no one calls close() (at exit).
                self._finalizer = weakref.finalize(self, _kill_all, self._pids)
            return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def _start_in_loop(self) -> list[Tool]:
        listed = await self._connect()
        return [t for t in (self._make_tool(m) for m in listed) if t is not None]

    async def _connect(self) -> list[Any]:
        session = Session(self.config)
        self._session = session
        try:
            listed = await session.open()
        except TimeoutError:
            raise ToolError(
                f"the MCP server {self.name!r} ({self.config.target}) did not start within "
                f"{self.config.startup_timeout:g} s{_tail(session)}"
            ) from None
        except Exception as exc:
            raise ToolError(
                f"the MCP server {self.name!r} ({self.config.target}) could not be started: "
                f"{_describe(exc)}{_tail(session)}"
            ) from None
        if session.pid is not None:
            self._pids.append(session.pid)
        log.info("mcp.started", server=self.name, pid=session.pid, tools=len(listed))
        return listed

    def _make_tool(self, listed: Any) -> Tool | None:
        if not self.config.wants(listed.name):
            return None
        exposed = f"{self.name}_{listed.name}" if self.config.prefix else listed.name
        definition = ToolDefinition(
            name=exposed,
            description=listed.description or getattr(listed, "title", None) or "",
            parameters=dict(listed.input_schema or {"type": "object", "properties": {}}),
        )
        try:
            return Tool.from_schema(
                definition,
                self._caller(listed.name),
                timeout=None,  # the server's own call timeout applies (see _call_in_loop)
                approval=self.config.approval,
            )
        except ValueError as exc:
            log.info("mcp.bad_schema", server=self.name, tool=listed.name, error=str(exc))
            return None

    def _caller(self, name: str) -> Any:
        async def call(**arguments: Any) -> str:
            return await asyncio.wrap_future(self._submit(self._call_in_loop(name, arguments)))

        call.__name__ = name
        return call

    async def _call_in_loop(self, name: str, arguments: Mapping[str, Any]) -> str:
        from mcp import MCPError
        from mcp_types import CONNECTION_CLOSED

        session = await self._live_session()
        timeout = self.config.call_timeout
        try:
            result = await asyncio.wait_for(
                session.client.call_tool(name, dict(arguments)), timeout
            )
        except TimeoutError:
            self._drop(session)
            raise ToolError(
                f"the MCP server {self.name!r} did not answer {name} within {timeout:g} s; "
                "it was stopped and will be started again on the next call"
            ) from None
        except MCPError as exc:
            if exc.code != CONNECTION_CLOSED and session.alive:
                raise ToolError(f"{self.name} refused {name}: {exc.message}") from None
            self._drop(session)
            raise ToolError(
                f"the MCP server {self.name!r} stopped during {name} ({exc.message})"
                f"{_tail(session)}; it will be started again on the next call"
            ) from None
        except Exception as exc:
            self._drop(session)
            raise ToolError(
                f"the MCP server {self.name!r} failed during {name} ({_describe(exc)})"
                f"{_tail(session)}; it will be started again on the next call"
            ) from None
        text = result_text(result)
        if getattr(result, "is_error", False):
            raise ToolError(text or f"{name} reported an error")
        return text

    async def _live_session(self) -> Session:
        if self._restart_lock is None:
            self._restart_lock = asyncio.Lock()
        async with self._restart_lock:
            session = self._session
            if session is not None and session.alive:
                return session
            if session is not None:
                log.info("mcp.restart", server=self.name, pid=session.pid)
                await session.close()
            await self._connect()
            assert self._session is not None
            return self._session

    def _drop(self, session: Session) -> None:
        """Mark a failed session and stop it in the background (a hung server is killed)."""
        session.broken = True
        task = asyncio.get_running_loop().create_task(session.close())
        self._closing.add(task)  # a task nobody references may be collected mid-way
        task.add_done_callback(self._closing.discard)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _describe(exc.exceptions[0])
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _tail(session: Session) -> str:
    tail = session.stderr_tail()
    return f"; its last output: {tail[-300:]}" if tail else ""


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        if group_alive(pid):
            kill_group(pid, grace=0.5)
