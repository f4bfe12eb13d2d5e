"""Launcher of the unshare tier: Landlock + seccomp, then exec the command.

This file must stay standard-library only and self-contained: its source is run inside
the new namespaces with ``python3 -I -S -c``. The host also imports it to probe the
kernel's Landlock ABI.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys

_SYS_CREATE_RULESET = 444  # the same number on every architecture (new syscalls)
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1, 2, 4, 8
_FILE_ACCESS_V1 = _EXECUTE | _WRITE_FILE | _READ_FILE
_ALL_V1 = (1 << 13) - 1
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1, 2
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2
_SYS_MOUNT_SETATTR = 442  # also a new syscall: one number everywhere
_AT_FDCWD, _AT_RECURSIVE = -100, 0x8000
_ATTR_RDONLY, _ATTR_NOSUID, _ATTR_NODEV = 0x1, 0x2, 0x4
_MS_BIND, _MS_REC, _MS_PRIVATE = 0x1000, 0x4000, 0x40000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


class _MountAttr(ctypes.Structure):
    _fields_ = (
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    )


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 when Landlock is unavailable."""
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    version = int(
        libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    )
    return max(version, 0)


def _handled(abi: int) -> tuple[int, int, int]:
    fs = _ALL_V1
    if abi >= 2:
        fs |= _REFER
    if abi >= 3:
        fs |= _TRUNCATE
    if abi >= 5:
        fs |= _IOCTL_DEV
    net = _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0
    scoped = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL if abi >= 6 else 0
    return fs, net, scoped


def _restrict(read: list[str], write: list[str]) -> None:
    abi = landlock_abi()
    if abi < 1:
        raise OSError("Landlock is not available")
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    fs, net, scoped = _handled(abi)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    attr = (ctypes.c_uint64 * 3)(fs, net, scoped)
    ruleset = int(libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    file_bits = _FILE_ACCESS_V1 | (fs & (_TRUNCATE | _IOCTL_DEV))
    read_bits = _EXECUTE | _READ_FILE | _READ_DIR
    for paths, bits in ((read, read_bits), (write, fs)):
        for path in paths:
            _add_rule(libc, ruleset, path, bits, file_bits)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")
    if libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0) != 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    os.close(ruleset)


def _add_rule(libc: ctypes.CDLL, ruleset: int, path: str, bits: int, file_bits: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # absent on this system; nothing to allow
    try:
        if not os.path.isdir(path):
            bits &= file_bits
        rule = _PathBeneath(bits, fd)
        if libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)


def _setattr(libc: ctypes.CDLL, path: str, flags: int, attr_set: int, attr_clr: int) -> None:
    attr = _MountAttr(attr_set, attr_clr, 0, 0)
    size = ctypes.c_size_t(ctypes.sizeof(attr))
    target = path.encode()
    if libc.syscall(_SYS_MOUNT_SETATTR, _AT_FDCWD, target, flags, ctypes.byref(attr), size):
        raise OSError(ctypes.get_errno(), f"mount_setattr failed for {path}")


def _hide_unused_tops(libc: ctypes.CDLL, needed: list[str]) -> None:
    """Cover every top-level directory that holds nothing ``needed`` with an empty
    read-only tmpfs: Landlock does not stop ``stat`` or ``readlink``, so names, sizes
    and sockets under /home, /root, /run, /var, ... would otherwise be visible."""
    tops = {"/" + p.strip("/").split("/")[0] for p in needed if p.startswith("/")}
    flags = _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    for name in sorted(os.listdir("/")):
        path = "/" + name
        if path in tops or os.path.islink(path) or not os.path.isdir(path):
            continue
        encoded = path.encode()
        if libc.mount(b"tmpfs", encoded, b"tmpfs", flags, b"size=4k,nr_inodes=1,mode=0555"):
            raise OSError(ctypes.get_errno(), f"hiding {path} failed")


def _freeze_host_tree(writable: list[str], needed: list[str]) -> None:
    """Make every mount read-only except ``writable`` directories (bound onto themselves).

    Landlock does not cover metadata: without this, code could chmod, chown or utime
    host files its uid owns. Runs with the capabilities ``unshare --keep-caps`` left in
    the new user namespace, which are then dropped (ambient set cleared before exec).
    """
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    if libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "making mounts private failed")
    _setattr(libc, "/", _AT_RECURSIVE, _ATTR_RDONLY | _ATTR_NOSUID, 0)
    _hide_unused_tops(libc, [*needed, *writable])
    for path in writable:
        if not os.path.isdir(path):
            continue
        encoded = path.encode()
        if libc.mount(encoded, encoded, None, _MS_BIND, None) != 0:
            raise OSError(ctypes.get_errno(), f"binding {path} failed")
        _setattr(libc, path, 0, _ATTR_NOSUID | _ATTR_NODEV, _ATTR_RDONLY)
    if libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "clearing ambient capabilities failed")


def _load_seccomp(program: bytes) -> None:
    libc = _libc()
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p).value)
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "loading the seccomp filter failed")


def main() -> None:
    """Apply the restrictions described by the JSON argument and exec the command."""
    spec = json.loads(sys.argv[1])
    try:
        _freeze_host_tree(spec["write"], spec["read"])
        _restrict(spec["read"], spec["write"])
        _load_seccomp(bytes.fromhex(spec["seccomp"]))
        os.chdir(spec["cwd"])
    except OSError as exc:
        sys.stderr.write(f"sandbox launcher: {exc}\n")
        os._exit(126)
    argv: list[str] = spec["argv"]
    try:
        os.execvpe(argv[0], argv, spec["env"])
    except OSError as exc:
        sys.stderr.write(f"sandbox: cannot run {argv[0]}: {exc.strerror}\n")
        os._exit(127)


if __name__ == "__main__":
    main()
