"""Per-sandbox-call control groups: memory and process caps, freezing, killing.

A cgroup counts what rlimits cannot: memory of every process together, including
memfd and tmpfs pages (charged to the cgroup that touched them), and every task the
call starts. The freezer stops everything a persistent process started between calls.

Detection looks at the hierarchies this process is in (``/proc/self/cgroup``) and the
mounts (``/proc/self/mounts``): cgroup v1 ``memory``/``pids``/``freezer`` hierarchies, or
a cgroup2 tree whose controllers are delegated to our cgroup. Only what can really be
created (a probe directory is made and removed) counts as available; on a host without
write access (an ordinary user without delegation) nothing is enforced this way, and
`enforcement` says so.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

_V1_CONTROLLERS = ("memory", "pids", "freezer")


@dataclass(frozen=True)
class CgroupSupport:
    """Where per-call cgroups can be created on this host.

    Attributes:
        parents: Controller name -> directory under which a child may be created
            (v1: one per hierarchy; v2: the same directory for each controller).
        version: 1, 2, or 0 when nothing can be created.
    """

    parents: dict[str, Path] = field(default_factory=dict)
    version: int = 0

    @property
    def enforced(self) -> frozenset[str]:
        """Controllers a sandbox call is actually placed under."""
        return frozenset(self.parents)


def _mounts() -> list[tuple[str, str, str]]:
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 4 and parts[2] in ("cgroup", "cgroup2"):
                found.append((parts[1], parts[2], parts[3]))
    return found


def _own_paths() -> dict[str, str]:
    paths: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                paths[name] = path
    return paths


def _can_create(parent: Path) -> bool:
    probe = parent / f"agentloop-probe-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        probe.mkdir()
    except OSError:
        return False
    with contextlib.suppress(OSError):
        probe.rmdir()
    return True


def sweep(support: CgroupSupport) -> None:
    """Remove empty per-call cgroups left by agentloop processes that no longer exist."""
    for parent in set(support.parents.values()):
        with contextlib.suppress(OSError):
            for child in parent.iterdir():
                owner = child.name.split("-")
                if len(owner) != 3 or owner[0] != "agentloop" or not owner[1].isdigit():
                    continue
                if not pid_alive(int(owner[1])):
                    with contextlib.suppress(OSError):
                        child.rmdir()  # refused while tasks are still in it


def pid_alive(pid: int) -> bool:
    """True while a process with this pid exists (any owner)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def detect() -> CgroupSupport:
    """Find the cgroup hierarchies where this process may create per-call cgroups."""
    own = _own_paths()
    parents: dict[str, Path] = {}
    for mount, kind, options in _mounts():
        if kind != "cgroup":
            continue
        for name in _V1_CONTROLLERS:
            if name in options.split(",") and name in own:
                parent = Path(mount + own[name])
                if _can_create(parent):
                    parents[name] = parent
    if parents:
        return CgroupSupport(parents, 1)
    for mount, kind, _ in _mounts():
        if kind == "cgroup2" and "" in own:
            parent = Path(mount + own[""])
            try:
                delegated = (parent / "cgroup.subtree_control").read_text().split()
            except OSError:
                continue
            usable: dict[str, Path] = {n: parent for n in ("memory", "pids") if n in delegated}
            if (parent / "cgroup.freeze").exists() or usable:
                usable["freezer"] = parent
            if usable and _can_create(parent):
                return CgroupSupport(usable, 2)
    return CgroupSupport()


class CallGroup:
    """The cgroups of one sandboxed process tree (one per controller hierarchy)."""

    def __init__(self, support: CgroupSupport, memory_bytes: int, tasks: int) -> None:
        self._support = support
        name = f"agentloop-{os.getpid()}-{secrets.token_hex(6)}"
        self.dirs: list[Path] = []
        for controller, parent in sorted(support.parents.items()):
            path = parent / name
            if path in self.dirs:
                continue
            path.mkdir()
            self.dirs.append(path)
            self._limit(path, controller, memory_bytes, tasks)

    def _limit(self, path: Path, controller: str, memory_bytes: int, tasks: int) -> None:
        v2 = self._support.version == 2
        if controller == "memory":
            if v2:
                _write(path / "memory.max", str(memory_bytes))
                with contextlib.suppress(OSError):
                    _write(path / "memory.swap.max", "0")
            else:
                _write(path / "memory.limit_in_bytes", str(memory_bytes))
                with contextlib.suppress(OSError):
                    _write(path / "memory.memsw.limit_in_bytes", str(memory_bytes))
        elif controller == "pids":
            _write(path / "pids.max", str(tasks))

    @property
    def procs_files(self) -> list[str]:
        """Files to write ``0`` to (in the child, before exec) to enter every cgroup."""
        return [str(path / "cgroup.procs") for path in self.dirs]

    def _freezer(self) -> Path | None:
        parent = self._support.parents.get("freezer")
        if parent is None:
            return None
        return next((d for d in self.dirs if d.parent == parent), None)

    @property
    def can_freeze(self) -> bool:
        """True when this group has a freezer."""
        return self._freezer() is not None

    def freeze(self, frozen: bool) -> None:
        """Freeze (or thaw) every task of the group.

        The kernel completes a freeze on its own (each task stops at its next return to
        user space); nothing waits for it, so a call's reply is not delayed.
        """
        path = self._freezer()
        if path is None:
            return
        if self._support.version == 2:
            _write(path / "cgroup.freeze", "1" if frozen else "0")
        else:
            _write(path / "freezer.state", "FROZEN" if frozen else "THAWED")

    def kill_all(self) -> None:
        """SIGKILL every task left in the group (thawing it so the kill takes effect)."""
        for path in self.dirs:
            for pid in _pids(path):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.freeze(False)

    def oom_kills(self) -> int:
        """How many tasks the kernel killed for going over the memory limit."""
        for path in self.dirs:
            for name in ("memory.oom_control", "memory.events"):
                with contextlib.suppress(OSError, ValueError):
                    for line in (path / name).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill":
                            return int(value)
        return 0

    def peak_memory(self) -> int | None:
        """Highest memory use of the group in bytes, when the kernel reports it."""
        for path in self.dirs:
            for name in ("memory.max_usage_in_bytes", "memory.peak"):
                with contextlib.suppress(OSError, ValueError):
                    return int((path / name).read_text())
        return None

    def remove(self) -> None:
        """Kill what is left and remove the cgroups (retrying while tasks exit)."""
        deadline = time.monotonic() + 5.0
        pending = list(self.dirs)
        while pending and time.monotonic() < deadline:
            self.kill_all()
            still = []
            for path in pending:
                try:
                    path.rmdir()
                except FileNotFoundError:
                    pass
                except OSError:
                    still.append(path)
            pending = still
            if pending:
                time.sleep(0.02)
        self.dirs = pending


def _pids(path: Path) -> list[int]:
    try:
        return [int(p) for p in (path / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _write(path: Path, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


def enter(procs_files: list[str]) -> None:
    """Move the calling process into cgroups (runs in the child between fork and exec)."""
    for procs in procs_files:
        fd = os.open(procs, os.O_WRONLY)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)
