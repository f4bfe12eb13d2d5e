"""Host-side handling of the workspace directory; never follows a symlink.

Every walk uses ``lstat``/``scandir`` without following links, and every open goes
component by component with ``O_NOFOLLOW``, so a link planted by sandboxed code cannot
make host-side code read or change anything outside the workspace.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sandbox._types import WorkspaceError

_SETID_BITS = stat.S_ISUID | stat.S_ISGID


@dataclass(frozen=True)
class Usage:
    """Size of a workspace: bytes allocated and number of entries."""

    bytes: int
    entries: int


def scan(root: Path, *, chown_to: int | None = None, strip_setid: bool = True) -> Usage:
    """Measure the workspace, strip setuid/setgid bits and optionally hand it to a uid.

    Args:
        root: The workspace directory.
        chown_to: When set (running as root), entries owned by anyone else are given
            to this uid/gid so the unprivileged sandbox user can change them.
        strip_setid: Clear setuid/setgid bits on regular files.

    Returns:
        The space used (allocated blocks, so sparse files count what they take).
    """
    total = 0
    entries = 0
    stack = [str(root)]
    if chown_to is not None:
        _own(str(root), os.lstat(root), chown_to)
    while stack:
        try:
            iterator = os.scandir(stack.pop())
        except OSError:
            continue
        with iterator:
            for entry in iterator:
                entries += 1
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                total += info.st_blocks * 512
                if chown_to is not None:
                    _own(entry.path, info, chown_to)
                if stat.S_ISDIR(info.st_mode):
                    stack.append(entry.path)
                elif strip_setid and stat.S_ISREG(info.st_mode) and info.st_mode & _SETID_BITS:
                    os.chmod(entry.path, stat.S_IMODE(info.st_mode) & ~_SETID_BITS)
    return Usage(bytes=total, entries=entries)


def _own(path: str, info: os.stat_result, uid: int) -> None:
    if info.st_uid != uid or info.st_gid != uid:
        os.chown(path, uid, uid, follow_symlinks=False)


def resolve_inside(root: Path, relative: str | os.PathLike[str]) -> PurePosixPath:
    """Normalise a path given relative to the workspace, refusing any way out.

    Args:
        root: The workspace directory (its host path).
        relative: A relative path, or an absolute one under ``root``.

    Returns:
        The path relative to the workspace, without ``.`` or ``..`` parts.

    Raises:
        WorkspaceError: The path leaves the workspace.
    """
    path = PurePosixPath(os.fspath(relative))
    if path.is_absolute():
        try:
            path = path.relative_to(PurePosixPath(root))
        except ValueError:
            raise WorkspaceError(f"{relative} is outside the workspace") from None
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                raise WorkspaceError(f"{relative} is outside the workspace")
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return PurePosixPath(*parts)


def open_inside(root: Path, relative: str | os.PathLike[str], flags: int, mode: int = 0o644) -> int:
    """Open a file inside the workspace without following any symlink on the way.

    Args:
        root: The workspace directory.
        relative: Path relative to the workspace.
        flags: ``os.open`` flags for the final component.
        mode: Permission bits for a newly created file.

    Returns:
        An open file descriptor (the caller closes it).

    Raises:
        WorkspaceError: The path leaves the workspace or a component is a symlink.
    """
    parts = resolve_inside(root, relative).parts
    if not parts:
        raise WorkspaceError("a file path is needed, not the workspace itself")
    dir_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            next_fd = _open_component(part, dir_fd, os.O_RDONLY | os.O_DIRECTORY, 0)
            os.close(dir_fd)
            dir_fd = next_fd
        return _open_component(parts[-1], dir_fd, flags, mode)
    finally:
        os.close(dir_fd)


def _open_component(name: str, dir_fd: int, flags: int, mode: int) -> int:
    try:
        return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (40, 20):  # ELOOP (a symlink), ENOTDIR (a link to a file)
            raise WorkspaceError(f"{name} is a symlink or not a directory") from exc
        raise
