"""Starting, draining and killing the host process that holds a sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
from collections.abc import Callable

from sandbox import _stopper
from sandbox._cgroup import CallGroup, enter
from sandbox._text import BoundedBuffer
from sandbox._tiers import Launch
from sandbox._types import Limits


def count_tasks(uid: int) -> int:
    """Processes and threads owned by ``uid`` now (what RLIMIT_NPROC counts)."""
    count = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid == uid:
                count += len(os.listdir(f"/proc/{name}/task"))
        except OSError:
            continue
    return count


def _child_setup(
    limits: Limits, nproc: int, procs_files: list[str], run_as: int | None
) -> Callable[[], None]:
    values = (
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_AS, limits.memory_bytes),
        (resource.RLIMIT_FSIZE, limits.file_size_bytes),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_NPROC, nproc),
        (resource.RLIMIT_CORE, 0),
    )

    def apply() -> None:  # runs in the child between fork and exec
        # Enter the call's cgroups while still root (their files are root's), then drop.
        enter(procs_files)
        for which, value in values:
            resource.setrlimit(which, (value, value))
        if run_as is not None:
            os.setgroups([])
            os.setresgid(run_as, run_as, run_as)
            os.setresuid(run_as, run_as, run_as)

    return apply


async def start(
    launch: Launch,
    *,
    limits: Limits,
    run_as: int | None,
    stdin: int,
    stream_limit: int = 1 << 16,
    group: CallGroup | None = None,
) -> asyncio.subprocess.Process:
    """Start the host process of a sandboxed command in its own session.

    Args:
        launch: The command line and environment.
        limits: Resource limits, applied as rlimits before exec.
        run_as: When running as root, the unprivileged uid (and gid) to drop to first.
        stdin: ``asyncio.subprocess.PIPE`` or ``DEVNULL``.
        stream_limit: Longest line the stdout reader accepts (for line protocols).
        group: The call's cgroups, entered before exec.
    """
    uid = os.getuid() if run_as is None else run_as
    nproc = count_tasks(uid) + limits.processes
    procs = group.procs_files if group is not None else []
    return await asyncio.create_subprocess_exec(
        *launch.argv,
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=launch.env,
        cwd=launch.host_cwd,
        pass_fds=launch.pass_fds,
        start_new_session=True,
        limit=stream_limit,
        preexec_fn=_child_setup(limits, nproc, procs, run_as),
    )


def kill_tree(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the process group; the pid namespace takes the rest of the tree with it.

    Signals go through ``os.kill`` rather than ``proc.kill()``: the latter polls with
    ``waitpid`` and can reap the child before asyncio's watcher does, losing its status.
    """
    if proc.returncode is not None:
        return
    for send in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            send(proc.pid, signal.SIGKILL)


async def pump(
    stream: asyncio.StreamReader,
    buffer: BoundedBuffer,
    on_flood: Callable[[], None],
    flood_bytes: int,
) -> None:
    """Read a stream to its end into a bounded buffer; call ``on_flood`` past a limit."""
    flooded = False
    while chunk := await stream.read(65536):
        buffer.feed(chunk)
        if not flooded and buffer.total > flood_bytes:
            flooded = True
            on_flood()


class SandboxProcess:
    """A long-lived sandboxed process (e.g. a warm interpreter) with pipes to talk to it.

    Its stderr is collected into a bounded buffer; stdin and stdout belong to the caller.
    The caller must ``await kill()`` when done; nothing in the sandbox survives that.
    """

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        stderr: BoundedBuffer,
        tasks: list[asyncio.Task[None]],
        cleanup: Callable[[], None],
        group: CallGroup | None = None,
    ) -> None:
        self._proc = proc
        self._stderr = stderr
        self._tasks = tasks
        self._cleanup = cleanup
        self._group = group
        self._pid_namespace: str | None = None
        self.killed_reason: str | None = None

    @property
    def can_freeze(self) -> bool:
        """True when `pause` really stops every task: a cgroup freezer, or (without one)
        SIGSTOP to every process of the tree's pid namespace."""
        if self._group is not None and self._group.can_freeze:
            return True
        return self._namespace() is not None

    def _namespace(self) -> str | None:
        if self._pid_namespace is None and self._proc.returncode is None:
            self._pid_namespace = _stopper.namespace_of(self._proc.pid)
        return self._pid_namespace

    async def pause(self) -> None:
        """Freeze the whole tree (threads and children included) until `resume`."""
        if self._proc.returncode is not None:
            return
        if self._group is not None and self._group.can_freeze:
            await asyncio.to_thread(self._group.freeze, True)
        elif (namespace := self._namespace()) is not None:
            await asyncio.to_thread(_stopper.stop_namespace, namespace)

    async def resume(self) -> None:
        """Thaw what `pause` froze."""
        if self._group is not None and self._group.can_freeze:
            await asyncio.to_thread(self._group.freeze, False)
        elif self._pid_namespace is not None:
            await asyncio.to_thread(_stopper.continue_namespace, self._pid_namespace)

    @property
    def stdin(self) -> asyncio.StreamWriter:
        """The process's standard input."""
        assert self._proc.stdin is not None
        return self._proc.stdin

    @property
    def stdout(self) -> asyncio.StreamReader:
        """The process's standard output."""
        assert self._proc.stdout is not None
        return self._proc.stdout

    @property
    def returncode(self) -> int | None:
        """Exit status once the process has ended, else None."""
        return self._proc.returncode

    def stderr_text(self) -> str:
        """Standard error so far, bounded and sanitised."""
        return self._stderr.text()

    def stop(self, reason: str) -> None:
        """Kill the whole tree now (from a callback), remembering why."""
        self.killed_reason = self.killed_reason or reason
        kill_tree(self._proc)
        if self._group is not None:
            self._group.kill_all()  # a frozen task dies only once thawed

    async def wait(self) -> int:
        """Wait for the process to end and return its exit status."""
        return await self._proc.wait()

    async def kill(self) -> None:
        """End the whole process tree and release what the process held (idempotent)."""
        kill_tree(self._proc)
        if self._group is not None:
            self._group.kill_all()
        await self._proc.wait()
        if self._proc.stdin is not None:
            # Close the pipe while the loop runs; left to the garbage collector it is
            # closed after the loop, which asyncio reports as an error.
            self._proc.stdin.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._cleanup()
