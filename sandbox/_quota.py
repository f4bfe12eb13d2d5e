"""A workspace whose size the kernel enforces as it is written: a size-limited tmpfs.

Only for workspaces the sandbox creates itself (`Sandbox.temporary`) and only as root
(mounting needs it). Elsewhere the workspace limit is enforced by polling, which a fast
writer can overshoot briefly; docs/sandbox.md says so.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

from sandbox._cgroup import pid_alive
from sandbox._workspace import remove_tree

_MS_NOSUID, _MS_NODEV = 0x2, 0x4
_MNT_DETACH = 0x2
_SOURCE = "agentloop-workspace-"


def mount_limited(path: Path, size: int, entries: int, owner: int | None) -> bool:
    """Mount a tmpfs of ``size`` bytes and ``entries`` inodes on the empty dir ``path``.

    Returns:
        True when mounted; False when not root or the kernel refused (nothing changed).
    """
    if os.geteuid() != 0:
        return False
    uid = owner if owner is not None else 0
    options = f"size={size},nr_inodes={entries + 1},mode=0755,uid={uid},gid={uid}"
    libc = ctypes.CDLL(None, use_errno=True)
    flags = _MS_NOSUID | _MS_NODEV
    source = f"{_SOURCE}{os.getpid()}".encode()
    done = libc.mount(source, bytes(path), b"tmpfs", flags, options.encode())
    return bool(done == 0)


def sweep() -> None:
    """Detach workspace tmpfs mounts left by agentloop processes that died before closing
    their sandbox (their directories are then removed as well)."""
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return
    for line in lines:
        source, target = line.split()[:2]
        owner = source.removeprefix(_SOURCE)
        if source.startswith(_SOURCE) and owner.isdigit() and not pid_alive(int(owner)):
            path = Path(target.replace("\\040", " "))
            unmount(path)
            remove_tree(path.parent)


def unmount(path: Path) -> None:
    """Detach the tmpfs mounted by `mount_limited` (its contents go with it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.umount2(bytes(path), _MNT_DETACH)
