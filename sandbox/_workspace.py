"""Host-side handling of the workspace directory: by descriptors, never by path.

Sandboxed code may rename, replace or swap anything in the workspace for a symlink at
any moment, even while the host walks it. So no host-side code here acts on a path
string below the workspace root: every directory is opened relative to its parent's
descriptor with ``O_DIRECTORY | O_NOFOLLOW``, every entry is examined with
``fstatat(..., AT_SYMLINK_NOFOLLOW)`` and changed only through an ``O_PATH |
O_NOFOLLOW`` descriptor of that very inode. A symlink swapped in at any point is then
either not opened (``ELOOP``/``ENOTDIR``) or acted on as the link itself, never as its
target. Files with more than one hard link are never chowned or chmodded: such an inode
may also live outside the workspace.

Measuring (`scan`) only reads. Handing entries to the sandbox uid (`hand_over`) and
stripping setuid bits change metadata through descriptors; `remove_tree` deletes
through descriptors.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sandbox._types import WorkspaceError

_SETID_BITS = stat.S_ISUID | stat.S_ISGID
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_PATH_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
_MAX_DEPTH = 512


@dataclass(frozen=True)
class Usage:
    """Size of a workspace: bytes allocated and number of entries."""

    bytes: int
    entries: int


# Called for each entry with (parent directory fd, name, lstat result).
_Visit = Callable[[int, str, os.stat_result], None]


def _walk(root: Path, visit: _Visit | None = None) -> Usage:
    """Walk ``root`` by descriptors, calling ``visit`` on every entry (depth first)."""
    total = 0
    entries = 0
    try:
        parent_fd = os.open(root.parent, _DIR_FLAGS)
    except OSError:
        return Usage(0, 0)
    try:
        # Through _open_dir: a root the model closed (mode 0) is reopened for its owner.
        root_fd = _open_dir(parent_fd, root.name)
    finally:
        os.close(parent_fd)
    if root_fd is None:
        return Usage(0, 0)
    stack = [(root_fd, 0)]
    while stack:
        dir_fd, depth = stack.pop()
        try:
            names = _list(dir_fd)
            for name in names:
                try:
                    info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                except OSError:
                    continue
                entries += 1
                total += info.st_blocks * 512
                if visit is not None:
                    visit(dir_fd, name, info)
                if stat.S_ISDIR(info.st_mode) and depth < _MAX_DEPTH:
                    child = _open_dir(dir_fd, name)
                    if child is not None:
                        stack.append((child, depth + 1))
        finally:
            os.close(dir_fd)
    return Usage(bytes=total, entries=entries)


def _list(dir_fd: int) -> list[str]:
    # scandir(fd) reads through a dup of the descriptor: the directory we opened, not
    # whatever a path names now.
    try:
        with os.scandir(dir_fd) as iterator:
            return [entry.name for entry in iterator]
    except OSError:
        return []


def _open_dir(dir_fd: int, name: str) -> int | None:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except PermissionError:
        # An unprivileged host shares its uid with the sandbox, which may have closed a
        # directory to hide what it holds: reopen it for its owner, by descriptor.
        _unlock_dir(dir_fd, name)
    except OSError:
        return None  # swapped for a symlink or a file, or gone: not ours to follow
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None


def scan(root: Path) -> Usage:
    """Measure the workspace without changing anything or following any link.

    Args:
        root: The workspace directory.

    Returns:
        The space used (allocated blocks, so sparse files count what they take).
    """
    return _walk(root)


def hand_over(root: Path, uid: int | None, *, strip_setid: bool = True) -> Usage:
    """Measure the workspace, strip setuid/setgid bits and, as root, give entries to ``uid``.

    Every change goes through an ``O_PATH | O_NOFOLLOW`` descriptor of the entry found
    in a directory opened by descriptor, so a concurrent symlink swap cannot redirect it.

    Args:
        root: The workspace directory.
        uid: Owner (and group) to give entries owned by anyone else; None: no chown.
        strip_setid: Clear setuid/setgid bits on regular files.
    """
    if uid is not None:
        with contextlib.suppress(OSError):
            fd = os.open(root, _PATH_FLAGS | os.O_DIRECTORY)
            try:
                _fix(fd, uid, False)
            finally:
                os.close(fd)

    def visit(dir_fd: int, name: str, info: os.stat_result) -> None:
        needs_chown = uid is not None and (info.st_uid, info.st_gid) != (uid, uid)
        needs_strip = strip_setid and stat.S_ISREG(info.st_mode) and info.st_mode & _SETID_BITS
        if not (needs_chown or needs_strip):
            return
        try:
            fd = os.open(name, _PATH_FLAGS, dir_fd=dir_fd)
        except OSError:
            return
        try:
            _fix(fd, uid, strip_setid)
        finally:
            os.close(fd)

    return _walk(root, visit)


def _fix(fd: int, uid: int | None, strip_setid: bool) -> None:
    """Chown/chmod the inode behind an O_PATH descriptor (never a symlink's target)."""
    info = os.fstat(fd)
    if stat.S_ISLNK(info.st_mode):
        return  # a link's owner grants nothing; its target is never touched
    if not stat.S_ISDIR(info.st_mode) and info.st_nlink != 1:
        return  # another name of this inode may be outside the workspace
    # /proc/self/fd/N of an O_PATH descriptor is the inode we opened, not a path lookup.
    proc_path = f"/proc/self/fd/{fd}"
    with contextlib.suppress(OSError):
        if uid is not None and (info.st_uid, info.st_gid) != (uid, uid):
            os.chown(proc_path, uid, uid)
        if strip_setid and stat.S_ISREG(info.st_mode) and info.st_mode & _SETID_BITS:
            os.chmod(proc_path, stat.S_IMODE(info.st_mode) & ~_SETID_BITS)


def remove_tree(path: Path) -> None:
    """Delete a directory tree by descriptors, making directories writable as needed.

    Sandboxed code may have left directories without write or search permission; an
    unprivileged host could not delete their contents otherwise. Symlinks are removed,
    never followed.
    """
    parent = path.parent
    try:
        parent_fd = os.open(parent, _DIR_FLAGS)
    except OSError:
        return
    try:
        _remove_entry(parent_fd, path.name, 0)
    finally:
        os.close(parent_fd)


def _remove_entry(dir_fd: int, name: str, depth: int) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
        return
    except IsADirectoryError:
        pass
    except OSError as exc:
        if exc.errno not in (errno.EISDIR, errno.EPERM):
            return
    if depth > _MAX_DEPTH:
        return
    _unlock_dir(dir_fd, name)
    child = _open_dir(dir_fd, name)
    if child is None:
        return
    try:
        for entry in _list(child):
            _remove_entry(child, entry, depth + 1)
    finally:
        os.close(child)
    with contextlib.suppress(OSError):
        os.rmdir(name, dir_fd=dir_fd)


def _unlock_dir(dir_fd: int, name: str) -> None:
    """Give the owner rwx on a directory (through a descriptor) so it can be emptied."""
    try:
        fd = os.open(name, _PATH_FLAGS | os.O_DIRECTORY, dir_fd=dir_fd)
    except OSError:
        return
    try:
        info = os.fstat(fd)
        if info.st_mode & stat.S_IRWXU != stat.S_IRWXU:
            with contextlib.suppress(OSError):
                os.chmod(f"/proc/self/fd/{fd}", stat.S_IMODE(info.st_mode) | stat.S_IRWXU)
    finally:
        os.close(fd)


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
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise WorkspaceError(f"{name} is a symlink or not a directory") from exc
        raise
