"""Watching a running sandboxed command: output, timeout and workspace size."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sandbox import _tiers
from sandbox._cgroup import CallGroup
from sandbox._process import kill_tree, pump
from sandbox._text import BoundedBuffer
from sandbox._tiers import Launch
from sandbox._types import Limits, Tier
from sandbox._workspace import Usage, remove_tree, scan

_UNSAFE_WARNING = "[sandbox] WARNING: this ran WITHOUT isolation (unsafe mode)\n"
_STOP_NOTES = {
    "timeout": "the wall-clock timeout of {timeout:g} s was reached; the process tree was killed",
    "output": "the output exceeded {output} bytes; the process tree was killed",
    "workspace": "the workspace grew past its limit ({bytes} bytes, {files} entries); "
    "the process tree was killed",
    "memory": "the call used more than its {memory} bytes of memory; the kernel killed "
    "processes in it",
}


def with_notes(
    stderr: str, reason: str | None, timeout: float, limits: Limits, *, unsafe: bool
) -> str:
    """Standard error with the sandbox's own notes appended (why it stopped, unsafe)."""
    notes = _UNSAFE_WARNING if unsafe else ""
    if reason is not None:
        note = _STOP_NOTES[reason].format(
            timeout=timeout,
            output=limits.output_kill_bytes,
            bytes=limits.workspace_bytes,
            files=limits.workspace_files,
            memory=limits.total_memory_bytes,
        )
        notes += f"[sandbox] stopped: {note}\n"
    if not notes:
        return stderr
    return f"{stderr}\n{notes}" if stderr and not stderr.endswith("\n") else stderr + notes


async def supervise(
    proc: asyncio.subprocess.Process,
    stdin: bytes | None,
    timeout: float,
    limits: Limits,
    watch: Callable[[Callable[[str], None]], Coroutine[Any, Any, None]],
    group: CallGroup | None = None,
) -> tuple[BoundedBuffer, BoundedBuffer, str | None]:
    """Drain a process's output until it ends, stopping it on timeout, flood or a
    workspace over its limit (``watch`` calls ``stop``).

    Returns:
        stdout and stderr buffers, and why the process was stopped (or None).
    """
    reasons: list[str] = []

    def stop(why: str) -> None:
        if not reasons:
            reasons.append(why)
        kill_tree(proc)
        if group is not None:
            group.kill_all()  # the command may be the namespace's pid 1 (--as-pid-1)

    out, err = BoundedBuffer(limits.output_bytes), BoundedBuffer(limits.output_bytes)
    assert proc.stdout is not None and proc.stderr is not None
    readers = [
        asyncio.create_task(
            pump(proc.stdout, out, lambda: stop("output"), limits.output_kill_bytes)
        ),
        asyncio.create_task(
            pump(proc.stderr, err, lambda: stop("output"), limits.output_kill_bytes)
        ),
    ]
    if stdin is not None:
        readers.append(asyncio.create_task(_feed(proc, stdin)))
    watcher = asyncio.create_task(watch(stop))
    try:
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            stop("timeout")
            await proc.wait()
        # The pid namespace is gone with its init, so the pipes close at once; the
        # grace period only matters in unsafe mode, where a daemon may keep them.
        _, pending = await asyncio.wait(readers, timeout=2.0)
    except BaseException:
        kill_tree(proc)
        raise
    finally:
        watcher.cancel()
    for task in pending:
        task.cancel()
    await asyncio.gather(watcher, *readers, return_exceptions=True)
    return out, err, reasons[0] if reasons else None


async def watch_workspace(
    root: Path, baseline: Usage, limits: Limits, stop: Callable[[str], None]
) -> None:
    """Poll the workspace size; call ``stop("workspace")`` once it passes its limit."""
    max_bytes = max(limits.workspace_bytes, baseline.bytes)
    max_entries = max(limits.workspace_files, baseline.entries)
    interval = 0.1
    while True:
        await asyncio.sleep(interval)
        began = time.monotonic()
        usage = await asyncio.to_thread(scan, root)
        interval = max(0.1, 20 * (time.monotonic() - began))
        if usage.bytes > max_bytes or usage.entries > max_entries:
            stop("workspace")
            return


async def watch_memory(group: CallGroup | None, stop: Callable[[str], None]) -> None:
    """End the whole call once the kernel killed one of its tasks for memory: what is
    left would run on with a piece missing (the killed process was chosen by size)."""
    if group is None:
        return
    while True:
        await asyncio.sleep(0.1)
        if await asyncio.to_thread(group.oom_kills):
            stop("memory")
            return


def watch_all(
    *watchers: Callable[[Callable[[str], None]], Coroutine[Any, Any, None]],
) -> Callable[[Callable[[str], None]], Coroutine[Any, Any, None]]:
    """One watcher that runs several."""

    async def watch(stop: Callable[[str], None]) -> None:
        await asyncio.gather(*(w(stop) for w in watchers))

    return watch


class Prepared:
    """A launch plus what it holds on the host: descriptors, a private tmp dir, cgroups."""

    def __init__(self, launch: Launch, fds: list[int], tmp: Path | None) -> None:
        self.launch = launch
        self._fds = fds
        self._tmp = tmp
        self.group: CallGroup | None = None

    def close_fds(self) -> None:
        while self._fds:
            os.close(self._fds.pop())

    def release(self) -> None:
        """Close descriptors, remove the cgroups (killing what is left) and the tmp dir."""
        self.close_fds()
        if self.group is not None:
            self.group.remove()
            self.group = None
        if self._tmp is not None:
            remove_tree(self._tmp)
            self._tmp = None


@dataclass(frozen=True)
class LaunchSpec:
    """What to start, under which tier, with which limits and seccomp program."""

    tier: Tier
    argv: list[str]
    cwd: PurePosixPath
    env: dict[str, str] | None
    limits: Limits
    seccomp: bytes
    in_cgroup: bool = False


def prepare(
    spec: LaunchSpec, workspace: Path, private: Path | None, run_as: int | None
) -> Prepared:
    """Build the launch of ``spec`` and what it holds on the host.

    Args:
        spec: The command and its tier.
        workspace: The workspace's host path.
        private: The sandbox's private host directory (for a per-call tmp; not bubblewrap).
        run_as: The uid that owns the per-call tmp when the host is root.
    """
    if spec.tier == "bubblewrap":
        flags = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        workspace_fd = os.open(workspace, flags)
        read_end, write_end = os.pipe()
        os.write(write_end, spec.seccomp)
        os.close(write_end)
        launch = _tiers.bubblewrap(
            spec.argv,
            workspace_fd=workspace_fd,
            seccomp_fd=read_end,
            cwd=spec.cwd,
            env=spec.env,
            limits=spec.limits,
            as_pid_1=spec.in_cgroup,
        )
        return Prepared(launch, [workspace_fd, read_end], None)
    tmp = Path(tempfile.mkdtemp(dir=private))
    if run_as is not None:
        os.chown(tmp, run_as, run_as)
    if spec.tier == "unshare":
        launch = _tiers.unshare(
            spec.argv,
            workspace=workspace,
            tmp=tmp,
            seccomp=spec.seccomp,
            cwd=spec.cwd,
            env=spec.env,
        )
    else:
        launch = _tiers.unsafe(spec.argv, workspace=workspace, tmp=tmp, cwd=spec.cwd, env=spec.env)
    return Prepared(launch, [], tmp)


async def _feed(proc: asyncio.subprocess.Process, data: bytes) -> None:
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        proc.stdin.write(data)
        await proc.stdin.drain()
    proc.stdin.close()
