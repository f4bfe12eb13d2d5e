"""One live connection to an MCP server, held open by one task (the SDK's transports are
anyio context managers: they must be entered and left by the same task)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from tools._log import get_logger
from tools.mcp._config import MCPServerConfig
from tools.mcp._process import child_session_leaders, group_alive, kill_group

log = get_logger(__name__)

# Seconds the SDK gets to close stdin, wait and kill the group before we do it ourselves.
_CLOSE_TIMEOUT = 8.0
_STDERR_TAIL = 600


class Session:
    """A started server: its `client`, its tools as listed, and the PID of its process group."""

    def __init__(self, config: MCPServerConfig) -> None:
        self.config = config
        self.client: Any = None
        self.pid: int | None = None
        self.broken = False
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Closed in close(); a context manager cannot span the server's lifetime.
        self._stderr = tempfile.TemporaryFile(  # noqa: SIM115
            "w+", encoding="utf-8", errors="replace"
        )

    @property
    def alive(self) -> bool:
        """False once the connection failed, hung or ended."""
        return not self.broken and self._task is not None and not self._task.done()

    async def open(self) -> list[Any]:
        """Start the server and list its tools (MCP `Tool` objects), within the start-up timeout.

        Raises:
            TimeoutError: Start-up took longer than `startup_timeout`.
            Exception: Whatever the SDK raised while starting (the process is stopped).
        """
        before = child_session_leaders() if self.config.command else set()
        ready: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._hold(ready))
        try:
            return await asyncio.wait_for(asyncio.shield(ready), self.config.startup_timeout)
        except BaseException:
            self._find_pid(before)
            await self.close()
            raise
        finally:
            self._find_pid(before)

    async def _hold(self, ready: asyncio.Future[list[Any]]) -> None:
        from mcp import Client

        try:
            async with contextlib.AsyncExitStack() as stack:
                client = await stack.enter_async_context(Client(await self._target(stack)))
                self.client = client
                listed = await _list_tools(client)
                if not ready.done():
                    ready.set_result(listed)
                await self._stop.wait()
        except BaseException as exc:
            self.broken = True
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError(exc))
            if not isinstance(exc, Exception):
                raise
            log.info("mcp.disconnected", server=self.config.name, error_type=type(exc).__name__)

    async def _target(self, stack: contextlib.AsyncExitStack) -> Any:
        config = self.config
        if config.url is None:
            from mcp import StdioServerParameters, stdio_client

            params = StdioServerParameters(
                command=config.command or "",
                args=list(config.args),
                env=dict(config.env) if config.env else None,
                cwd=config.cwd,
            )
            # The server's stderr goes to a file: kept out of the chat, quoted when it fails.
            return stdio_client(params, errlog=self._stderr)
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        # The SDK's own client reads a stream for at most 300 s: not enough for a longer
        # --mcp-timeout. Our call timeout decides; the HTTP read must not cut it short.
        read = max(300.0, config.call_timeout + 30.0)
        http = await stack.enter_async_context(
            httpx2.AsyncClient(
                headers=dict(config.headers or {}), timeout=httpx2.Timeout(30.0, read=read)
            )
        )
        return streamable_http_client(config.url, http_client=http)

    def _find_pid(self, before: set[int]) -> None:
        if self.pid is not None or not self.config.command:
            return
        new = child_session_leaders() - before
        wanted = Path(self.config.command).name
        matching = [pid for pid in new if wanted in _cmdline(pid)]
        chosen = matching or (list(new) if len(new) == 1 else [])
        if chosen:
            self.pid = chosen[0]

    def stderr_tail(self) -> str:
        """The last lines the server wrote to stderr (for error messages)."""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - _STDERR_TAIL))
            return self._stderr.read().strip()
        return ""

    async def close(self) -> None:
        """Stop the server: the SDK's orderly shutdown, then the process group by PID."""
        self.broken = True
        self._stop.set()
        task = self._task
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), _CLOSE_TIMEOUT)
            except (TimeoutError, Exception):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(task, 2.0)
        if self.pid is not None and group_alive(self.pid):
            log.info("mcp.kill", server=self.config.name, pid=self.pid)
            await asyncio.to_thread(kill_group, self.pid)
        with contextlib.suppress(OSError):
            self._stderr.close()


async def _list_tools(client: Any) -> list[Any]:
    listed: list[Any] = []
    cursor: str | None = None
    for _ in range(100):  # a server that pages forever cannot hang start-up
        page = await client.list_tools(cursor=cursor)
        listed.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return listed


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
