"""A llama-server child process: started on a free local port, awaited until healthy, and
always stopped by its PID (terminate, then kill), including on Ctrl-C and errors.

A killed parent leaves no orphan either: on Linux the child is started with
``PR_SET_PDEATHSIG`` so the kernel sends it SIGTERM when the thread that spawned it dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

from agentloop.errors import BackendError
from agentloop.logs import get_logger

log = get_logger(__name__)

_PR_SET_PDEATHSIG = 1
_HEALTH_POLL_S = 0.1
_STOP_GRACE_S = 5.0
_LOG_TAIL_LINES = 30

HealthState = Literal["ready", "loading", "exited"]


class ServerStartError(BackendError):
    """llama-server exited or did not become healthy in time.

    Attributes:
        log_tail: The last lines of the server's log.
    """

    def __init__(self, message: str, *, log_tail: str, hint: str = "") -> None:
        super().__init__(f"{message}\n--- llama-server log (tail) ---\n{log_tail}", hint=hint)
        self.log_tail = log_tail


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """How to start llama-server.

    Attributes:
        binary: The llama-server executable.
        model: The GGUF model file.
        ctx_size: Context window in tokens (`-c`).
        threads: CPU threads (`-t`); all usable cores when None.
        chat_template_file: A Jinja chat template overriding the model's own.
        chat_template_kwargs: Variables the chat template reads (`--chat-template-kwargs`).
        alias: The model id the server reports; the file path when None.
        seed: Sampling seed, for reproducible runs.
        host: Interface to listen on.
        port: TCP port; a free one is picked when None.
        startup_timeout: Seconds to wait for `GET /health` to answer 200.
        log_file: Where the server writes its log; a temporary file when None.
        extra_args: More command-line arguments, appended last.
    """

    binary: Path
    model: Path
    ctx_size: int = 8192
    threads: int | None = None
    chat_template_file: Path | None = None
    chat_template_kwargs: Mapping[str, Any] = field(default_factory=dict)
    alias: str | None = None
    seed: int | None = None
    host: str = "127.0.0.1"
    port: int | None = None
    startup_timeout: float = 180.0
    log_file: Path | None = None
    extra_args: tuple[str, ...] = ()


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on `host`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def build_command(settings: ServerSettings, port: int) -> list[str]:
    """The llama-server argv: `--jinja`, one slot so the prompt cache is reused."""
    argv = [str(settings.binary), "-m", str(settings.model)]
    argv += ["--host", settings.host, "--port", str(port), "--jinja", "-np", "1"]
    argv += ["-c", str(settings.ctx_size), "-t", str(settings.threads or usable_cores())]
    if settings.chat_template_file is not None:
        argv += ["--chat-template-file", str(settings.chat_template_file)]
    if settings.chat_template_kwargs:
        argv += ["--chat-template-kwargs", json.dumps(dict(settings.chat_template_kwargs))]
    if settings.alias:
        argv += ["--alias", settings.alias]
    if settings.seed is not None:
        argv += ["--seed", str(settings.seed)]
    return argv + list(settings.extra_args)


def _die_with_parent() -> None:
    """Runs in the child before exec: ask the kernel for SIGTERM when the parent dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class LlamaServer:
    """A llama-server child process, usable as a sync or async context manager.

    Example:
        >>> with LlamaServer(settings) as server:  # doctest: +SKIP
        ...     run_agent("hi", base_url=server.base_url)
    """

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.port = settings.port or 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._own_log = settings.log_file is None
        self.log_path: Path | None = settings.log_file

    @property
    def url(self) -> str:
        """Root URL of the server, e.g. ``http://127.0.0.1:41234``."""
        return f"http://{self.settings.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """OpenAI-compatible base URL, e.g. ``http://127.0.0.1:41234/v1``."""
        return f"{self.url}/v1"

    @property
    def pid(self) -> int | None:
        """The child's PID while it runs."""
        return self._process.pid if self._process is not None else None

    def running(self) -> bool:
        """Whether the child process is alive."""
        return self._process is not None and self._process.poll() is None

    def spawn(self) -> None:
        """Start the process without waiting for it to become healthy."""
        if self._process is not None:
            raise RuntimeError("this LlamaServer was already started")
        self.port = self.settings.port or free_port(self.settings.host)
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="agentloop-llama-server-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        self._log = self.log_path.open("wb")
        argv = build_command(self.settings, self.port)
        # A new session keeps the terminal's Ctrl-C away from the child: we stop it ourselves.
        self._process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        log.info("server.spawned", pid=self._process.pid, port=self.port, log=str(self.log_path))

    def poll_health(self, timeout: float = 2.0) -> HealthState:
        """Check once whether the server is ready, still loading, or gone."""
        if not self.running():
            return "exited"
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=timeout) as response:
                return "ready" if response.status == 200 else "loading"
        except (urllib.error.URLError, OSError, TimeoutError):
            return "loading"

    def start(self) -> LlamaServer:
        """Start the server and block until `GET /health` answers 200.

        Raises:
            ServerStartError: It exited or timed out (the server is stopped first).
        """
        self.spawn()
        started = time.monotonic()
        try:
            while (state := self.poll_health()) != "ready":
                self._check_start(state, started)
                time.sleep(_HEALTH_POLL_S)
        except BaseException:
            self.stop()
            raise
        self._log_ready(started)
        return self

    async def astart(self) -> LlamaServer:
        """Async `start`: cancellation (Ctrl-C) stops the child before propagating."""
        self.spawn()  # in the event-loop thread: PDEATHSIG follows the spawning thread
        started = time.monotonic()
        try:
            while (state := await asyncio.to_thread(self.poll_health)) != "ready":
                self._check_start(state, started)
                await asyncio.sleep(_HEALTH_POLL_S)
        except BaseException:
            self.stop()
            raise
        self._log_ready(started)
        return self

    def _check_start(self, state: HealthState, started: float) -> None:
        if state == "exited":
            code = self._process.returncode if self._process else None
            raise ServerStartError(
                f"llama-server exited with code {code} before it became healthy",
                log_tail=self.log_tail(),
                hint=f"full log: {self.log_path}",
            )
        if time.monotonic() - started > self.settings.startup_timeout:
            raise ServerStartError(
                f"llama-server did not become healthy within {self.settings.startup_timeout:.0f} s",
                log_tail=self.log_tail(),
                hint=f"full log: {self.log_path}",
            )

    def _log_ready(self, started: float) -> None:
        elapsed = round(time.monotonic() - started, 2)
        log.info("server.ready", pid=self.pid, url=self.base_url, seconds=elapsed)

    def stop(self, grace: float = _STOP_GRACE_S) -> int | None:
        """Stop the child by its PID: SIGTERM, then SIGKILL after `grace` seconds.

        Returns:
            The exit code, or None when it was never started.
        """
        process, self._process = self._process, None
        if process is None:
            return None
        crashed = process.poll() is not None
        if not crashed:
            process.terminate()
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._own_log and not crashed and self.log_path is not None:
            # A crash keeps its log for the user; a clean stop leaves no temp file behind.
            self.log_path.unlink(missing_ok=True)
        log.info("server.stopped", pid=process.pid, returncode=process.returncode)
        return process.returncode

    def wait(self) -> int:
        """Block until the child exits on its own; return its exit code."""
        if self._process is None:
            raise RuntimeError("this LlamaServer is not running")
        return self._process.wait()

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last `lines` lines of the server's log."""
        if self.log_path is None or not self.log_path.is_file():
            return "(no log)"
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> LlamaServer:
        return await self.astart()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
