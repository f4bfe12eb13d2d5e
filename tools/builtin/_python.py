"""The ``python`` tool: model code run REPL-style by a warm, sandboxed interpreter."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
from dataclasses import dataclass
from pathlib import Path

from sandbox import Limits, Sandbox, SandboxError, SandboxProcess, sanitize_text
from tools import Approval, Tool, ToolContext, ToolError, tool
from tools._log import get_logger
from tools.builtin import _worker

_log = get_logger(__name__)
_STATE_KEY = "tools.builtin.python.worker"
_LOCK_KEY = "tools.builtin.python.turn"
_MAX_PART = 64 << 10


@dataclass(frozen=True)
class PythonPolicy:
    """How the ``python`` tool runs.

    Attributes:
        timeout: Wall-clock seconds per call; on expiry the interpreter is stopped.
        approval: ``auto``, ``ask`` or ``deny``.
        output_bytes: Bytes of stdout/stderr/value kept per call (head and tail).
        limits: Resource limits of the interpreter (None: the sandbox's defaults).
        standby: Keep one interpreter started ahead, so that the first call of a new run
            does not wait for start-up (it is stopped with the sandbox).
    """

    timeout: float = 30.0
    approval: Approval = "auto"
    output_bytes: int = 32 << 10
    limits: Limits | None = None
    standby: bool = True


@dataclass(frozen=True)
class _Reply:
    stdout: str
    stderr: str
    value: str | None
    error: str | None


class PythonWorker:
    """One sandboxed interpreter whose variables persist from call to call."""

    def __init__(self, process: SandboxProcess) -> None:
        self._process = process

    @classmethod
    async def start(cls, sandbox: Sandbox, policy: PythonPolicy) -> PythonWorker:
        """Start an interpreter in ``sandbox``."""
        argv = ["python3", "-I", "-c", _worker_source(), str(policy.output_bytes)]
        return cls(await sandbox.spawn(argv, limits=policy.limits))

    @property
    def alive(self) -> bool:
        """False once the interpreter has ended."""
        return self._process.returncode is None

    async def run(self, code: str, timeout: float) -> _Reply:
        """Run one piece of code.

        Raises:
            ToolError: The interpreter died or timed out (its variables are then lost).
        """
        data = code.encode("utf-8", "surrogatepass")
        nonce = secrets.token_hex(16).encode()
        try:
            await self._process.resume()
            self._process.stdin.write(b"%d %s\n" % (len(data), nonce) + data)
            await self._process.stdin.drain()
            reply = await asyncio.wait_for(self._read_reply(nonce), timeout)
            # Nothing the code started may run until the next call (where a freezer exists).
            await self._process.pause()
            return reply
        except TimeoutError:
            self._process.stop("timeout")
            await self._process.wait()
            raise ToolError(
                f"Timed out after {timeout:g} s; the Python process was stopped and the "
                "variables from earlier calls are lost."
            ) from None
        except ValueError:
            self._process.stop("protocol")
            raise ToolError(await self._death_notice()) from None
        except (ConnectionError, asyncio.IncompleteReadError):
            raise ToolError(await self._death_notice()) from None

    async def close(self) -> None:
        """Stop the interpreter and everything it started."""
        await self._process.kill()

    async def _read_reply(self, nonce: bytes) -> _Reply:
        header = await self._process.stdout.readline()
        if not header:
            raise ConnectionError("the interpreter ended")
        fields = header.decode("ascii", "replace").split()
        if len(fields) != 6 or fields[0] != "R" or fields[1] != nonce.decode():
            raise ValueError("malformed or stale reply")
        sizes = [int(f) for f in fields[2:]]
        parts: list[str | None] = []
        for size in sizes:
            if size > 4 * _MAX_PART + 1024:
                raise ValueError("oversized reply")
            raw = await self._process.stdout.readexactly(size) if size >= 0 else None
            parts.append(None if raw is None else sanitize_text(raw.decode("utf-8", "replace")))
        return _Reply(parts[0] or "", parts[1] or "", parts[2], parts[3])

    async def _death_notice(self) -> str:
        self._process.stop("crash")
        code = await self._process.wait()
        reason = self._process.killed_reason
        if reason == "workspace":
            cause = "was stopped because the workspace grew past its size limit"
        elif reason == "output":
            cause = "was stopped because it wrote too much output"
        elif reason == "protocol":
            cause = (
                "was stopped because its reply did not belong to this call (code of an "
                "earlier call wrote to the interpreter's reply channel)"
            )
        elif reason == "memory":
            cause = "was stopped because it used more memory than its limit"
        elif code < 0:
            cause = f"was killed by signal {_signal_name(-code)}"
        elif 128 < code < 160:  # bubblewrap reports a signal death as 128 + N
            cause = f"was killed by signal {_signal_name(code - 128)} (exit status {code})"
        else:
            cause = f"exited with status {code}"
        stderr = self._process.stderr_text().strip()
        detail = f"\n{stderr}" if stderr else ""
        return (
            f"The Python process {cause} while running this code; variables from earlier "
            f"calls are lost and the next call starts a fresh interpreter.{detail}"
        )


class _Standby:
    """At most one interpreter started ahead of need, handed to the next new run."""

    def __init__(self, sandbox: Sandbox, policy: PythonPolicy) -> None:
        self._sandbox = sandbox
        self._policy = policy
        self._next: asyncio.Task[PythonWorker] | None = None

    async def take(self) -> PythonWorker:
        """A fresh interpreter: the one started ahead if ready, else a new one."""
        loop = asyncio.get_running_loop()
        task, self._next = self._next, None
        worker = None
        if task is not None and task.get_loop() is loop:
            with contextlib.suppress(SandboxError, OSError):
                worker = await task
        if worker is None or not worker.alive:
            worker = await PythonWorker.start(self._sandbox, self._policy)
        return worker

    def refill(self) -> None:
        """Start the next interpreter in the background (after a call, while the model
        thinks, so it does not compete with the call)."""
        if self._policy.standby and self._next is None:
            self._next = asyncio.get_running_loop().create_task(
                PythonWorker.start(self._sandbox, self._policy)
            )
            self._next.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Task[PythonWorker]) -> None:
    if not task.cancelled():
        task.exception()  # reported by the next take(), not as "never retrieved"


def python_tool(sandbox: Sandbox, policy: PythonPolicy | None = None) -> Tool:
    """Build the ``python`` tool, which runs code in ``sandbox``.

    Each run (each `ToolContext`) gets its own warm interpreter, stopped when the run
    ends; a crash, timeout or ``os._exit`` ends only that call.

    Args:
        sandbox: Where the code runs.
        policy: Timeout, approval and output limits.
    """
    policy = policy or PythonPolicy()
    standby = _Standby(sandbox, policy)

    async def python(code: str, context: ToolContext) -> str:
        """Run Python 3 code in a sandboxed interpreter and return what it printed.

        Use it for computations with several steps, dates (datetime), text and files.
        print() what you need: only printed output and the value of a final expression
        come back. Rely on the standard library only (not numpy, sympy or dateutil; for
        dates, datetime.timedelta). Variables and imports persist between calls; the
        working directory is the workspace; there is no network access.

        Args:
            code: Python source code to run.
        """
        # Calls of one reply arrive together; the run's one interpreter takes them one
        # at a time, in the order they were written (asyncio.Lock is first come, first
        # served), so each sees the variables of the calls before it.
        async with _turn_lock(context):
            worker = await _worker_for(context, standby)
            try:
                reply = await worker.run(code, policy.timeout)
            finally:
                if not worker.alive:
                    context.state.pop(_STATE_KEY, None)
                await sandbox.check_workspace()
                standby.refill()
        return _render(reply, unsafe=sandbox.tier == "none")

    return tool(python, approval=policy.approval, timeout=policy.timeout + 10.0)


def _turn_lock(context: ToolContext) -> asyncio.Lock:
    lock = context.state.get(_LOCK_KEY)
    if not isinstance(lock, asyncio.Lock):
        lock = context.state[_LOCK_KEY] = asyncio.Lock()
    return lock


async def _worker_for(context: ToolContext, standby: _Standby) -> PythonWorker:
    worker = context.state.get(_STATE_KEY)
    if isinstance(worker, PythonWorker) and worker.alive:
        return worker
    try:
        worker = await standby.take()
    except SandboxError as exc:
        raise ToolError(f"The python tool is unavailable: {exc}") from None
    context.state[_STATE_KEY] = worker

    async def stop() -> None:
        await worker.close()

    context.add_cleanup(stop)
    _log.debug("tool.python.worker_started", run_id=context.run_id)
    return worker


def _render(reply: _Reply, *, unsafe: bool) -> str:
    parts = ["WARNING: this ran WITHOUT isolation (unsafe mode)"] if unsafe else []
    if reply.stdout:
        parts.append(
            reply.stdout.rstrip("\n")
            if not reply.stderr and not reply.error
            else f"stdout:\n{reply.stdout}"
        )
    if reply.stderr:
        parts.append(f"stderr:\n{reply.stderr}")
    if reply.error is not None:
        parts.append(reply.error)
        raise ToolError("\n".join(parts).strip())
    if reply.value is not None:
        parts.append(reply.value if not parts else f"value: {reply.value}")
    return "\n".join(parts).strip() or "(no output)"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _worker_source() -> str:
    return Path(_worker.__file__).read_text(encoding="utf-8")
