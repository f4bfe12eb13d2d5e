"""Stopping a sandboxed tree without a cgroup freezer: SIGSTOP to its pid namespace.

Every sandboxed tree runs in its own pid namespace, so its processes are exactly the
host processes whose ``/proc/PID/ns/pid`` is that namespace. SIGSTOP cannot be caught
or ignored, even by the namespace's init when sent from the host. A process forked
while a pass runs is found by the next pass; passes repeat until one finds nothing
left running (stopped processes cannot fork, so this ends).
"""

from __future__ import annotations

import contextlib
import os
import signal

_MAX_PASSES = 50


def _children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(p) for p in handle.read().split()]
    return found


def namespace_of(host_pid: int) -> str | None:
    """The pid namespace of the sandboxed tree started by ``host_pid`` (bwrap or
    unshare, which stay in the host's namespace while their child is in the new one)."""
    try:
        own = os.readlink(f"/proc/{host_pid}/ns/pid")
    except OSError:
        return None
    queue = [host_pid]
    while queue:
        pid = queue.pop(0)
        with contextlib.suppress(OSError):
            namespace = os.readlink(f"/proc/{pid}/ns/pid")
            if namespace != own:
                return namespace
        queue += _children(pid)
    return None


def _members(namespace: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{name}/ns/pid") == namespace:
                    found.append(int(name))
    return found


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("T", "t", "Z", "X")


def stop_namespace(namespace: str) -> None:
    """SIGSTOP every process of ``namespace`` until none is left running."""
    for _ in range(_MAX_PASSES):
        running = [pid for pid in _members(namespace) if _running(pid)]
        if not running:
            return
        for pid in running:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGSTOP)


def continue_namespace(namespace: str) -> None:
    """SIGCONT every process of ``namespace``."""
    for pid in _members(namespace):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGCONT)
