"""The seccomp filter every sandboxed process runs under, compiled to raw BPF.

The program is built once on the host with pyseccomp (libseccomp) and handed to
bubblewrap (``--seccomp FD``) or loaded by the launcher of the unshare tier, so the
sandboxed side needs no binding of its own.
"""

from __future__ import annotations

import errno
import logging
import socket
import stat
import tempfile
from typing import Any

_log = logging.getLogger(__name__)

# Calls a workspace process never needs and that widen the kernel surface or reach
# outside the sandbox (debugging other processes, mounting, kernel keyrings, eBPF, ...).
DENIED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount", "umount2",
    "pivot_root", "chroot", "fsopen", "fsmount", "fsconfig", "fspick", "move_mount",
    "open_tree", "mount_setattr", "keyctl", "add_key", "request_key", "bpf",
    "perf_event_open", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "swapon", "swapoff", "reboot", "setns", "unshare", "userfaultfd",
    "open_by_handle_at", "name_to_handle_at", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "syslog", "acct", "quotactl", "vhangup", "settimeofday",
    "clock_settime", "clock_adjtime", "adjtimex", "iopl", "ioperm", "personality",
    "lookup_dcookie", "setdomainname", "sethostname",
)  # fmt: skip
# Namespace flags a process must not pass to clone(): no nested sandboxes to hide in.
_CLONE_NAMESPACE_FLAGS = (
    0x10000000,  # CLONE_NEWUSER
    0x00020000,  # CLONE_NEWNS
    0x40000000,  # CLONE_NEWNET
    0x20000000,  # CLONE_NEWPID
    0x08000000,  # CLONE_NEWIPC
    0x04000000,  # CLONE_NEWUTS
    0x02000000,  # CLONE_NEWCGROUP
)
_TIOCSTI = 0x5412  # pushes bytes into a terminal's input queue
_TIOCLINUX = 0x541C
# (syscall, index of the mode argument): setuid/setgid bits may not be set at all,
# by changing a mode or by creating a file, node or directory with one.
_MODE_CALLS = (
    ("chmod", 1), ("fchmod", 1), ("fchmodat", 2), ("fchmodat2", 2),
    ("open", 2), ("openat", 3), ("creat", 1),
    ("mknod", 1), ("mknodat", 2), ("mkdir", 1), ("mkdirat", 2),
)  # fmt: skip
# Calls whose mode or flags sit in a struct seccomp cannot read: ENOSYS makes libc fall
# back to the older call (clone, openat), whose arguments are checked.
_UNINSPECTABLE = ("clone3", "openat2")
# ioctl's request is a 32-bit int: the kernel ignores the upper half of the register,
# so the filter must too, or 0x1_00005412 would pass as "not TIOCSTI".
_LOW_32 = 0xFFFFFFFF


def build_filter_bpf(*, unix_sockets: bool = True) -> bytes:
    """Compile the sandbox's seccomp filter for the native architecture.

    Args:
        unix_sockets: Allow ``socket(AF_UNIX)``. The unshare tier passes False: it sees
            the host's file system, so a pathname socket there would reach a host
            service (``socketpair`` stays allowed: it connects nothing outside).

    Returns:
        The raw BPF program (an array of ``struct sock_filter``).

    Raises:
        OSError: libseccomp is missing or refuses the rules.
    """
    import pyseccomp as seccomp

    filt: Any = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in DENIED_SYSCALLS:
        _add(filt, seccomp.ERRNO(errno.EPERM), name)
    for name in _UNINSPECTABLE:
        _add(filt, seccomp.ERRNO(errno.ENOSYS), name)
    for flag in _CLONE_NAMESPACE_FLAGS:
        _add(
            filt, seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag)
        )
    for call in ("socket", "socketpair"):
        # A 64-bit "not equal" over an int argument can only refuse too much, never let
        # another family through.
        _add(
            filt,
            seccomp.ERRNO(errno.EAFNOSUPPORT),
            call,
            seccomp.Arg(0, seccomp.NE, socket.AF_UNIX),
        )
    if not unix_sockets:
        is_unix = seccomp.Arg(0, seccomp.MASKED_EQ, _LOW_32, socket.AF_UNIX)
        _add(filt, seccomp.ERRNO(errno.EAFNOSUPPORT), "socket", is_unix)
    for request in (_TIOCSTI, _TIOCLINUX):
        _add(
            filt,
            seccomp.ERRNO(errno.EPERM),
            "ioctl",
            seccomp.Arg(1, seccomp.MASKED_EQ, _LOW_32, request),
        )
    for call, index in _MODE_CALLS:
        for bit in (stat.S_ISUID, stat.S_ISGID):
            _add(
                filt,
                seccomp.ERRNO(errno.EPERM),
                call,
                seccomp.Arg(index, seccomp.MASKED_EQ, bit, bit),
            )
    with tempfile.TemporaryFile() as out:
        filt.export_bpf(out)
        out.seek(0)
        return out.read()


def _add(filt: Any, action: Any, name: str, *args: Any) -> None:
    try:
        filt.add_rule(action, name, *args)
    except (ValueError, OSError, RuntimeError) as exc:
        # A syscall this libseccomp does not know (e.g. fchmodat2 on an older one).
        _log.debug("sandbox.seccomp.skip syscall=%s error=%s", name, str(exc))
