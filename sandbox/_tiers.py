"""Command lines that start a process under each isolation tier."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sandbox import _launcher
from sandbox._types import Limits, Tier

INNER_WORKSPACE = PurePosixPath("/workspace")
SYSTEM_PYTHON = "/usr/bin/python3"
_SEARCH_PATH = "/usr/local/bin:/usr/bin:/bin"
# Top-level system directories shown read-only (symlinks such as /bin -> usr/bin are
# recreated as symlinks). /etc is not shown whole: only what programs need to start.
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC_FILES = (
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
    "/etc/localtime", "/etc/timezone", "/etc/mime.types", "/etc/ssl/certs",
    "/etc/python3", "/etc/python3.11",
)  # fmt: skip
_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


@dataclass(frozen=True)
class Launch:
    """How to start one sandboxed process on the host.

    Attributes:
        argv: The host command line.
        env: The environment of the host process.
        host_cwd: Working directory of the host process (None: inherit).
        pass_fds: File descriptors the host process inherits.
    """

    argv: list[str]
    env: dict[str, str]
    host_cwd: str | None = None
    pass_fds: tuple[int, ...] = field(default_factory=tuple)


def base_env(home: str, tmp: str, extra: dict[str, str] | None) -> dict[str, str]:
    """The minimal environment every sandboxed process gets: no host variables."""
    env = {
        "PATH": _SEARCH_PATH,
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "dumb",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    env.update(extra or {})
    return env


def bubblewrap(
    argv: list[str],
    *,
    workspace_fd: int,
    seccomp_fd: int,
    cwd: PurePosixPath,
    env: dict[str, str] | None,
    limits: Limits,
    as_pid_1: bool = False,
) -> Launch:
    """Command line for the bubblewrap tier.

    Args:
        argv: The command to run inside.
        workspace_fd: An ``O_PATH`` descriptor of the workspace, bound at /workspace.
        seccomp_fd: Read end of a pipe holding the compiled seccomp filter.
        cwd: Working directory relative to the workspace.
        env: Extra environment variables.
        limits: Limits (for the size of /tmp and /dev/shm).
        as_pid_1: Run the command itself as pid 1, so /proc/1/cmdline is not bwrap's
            command line (which names host paths). Only with a cgroup to kill the tree
            by: a namespace's pid 1 ignores the parent-death signal, so without
            bwrap's own init nothing else would end it when bwrap dies.
    """
    inner_cwd = INNER_WORKSPACE / cwd
    cmd = ["bwrap", "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc"]
    cmd += ["--unshare-uts", "--unshare-cgroup-try", "--disable-userns", "--die-with-parent"]
    cmd += ["--new-session", "--hostname", "sandbox"]
    if as_pid_1:
        cmd += ["--as-pid-1"]
    for top in _SYSTEM_DIRS:
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    for path in _ETC_FILES:
        cmd += ["--ro-bind-try", path, path]
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    cmd += ["--size", str(limits.tmp_bytes), "--tmpfs", "/dev/shm"]
    cmd += ["--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    cmd += ["--bind-fd", str(workspace_fd), str(INNER_WORKSPACE), "--chdir", str(inner_cwd)]
    cmd += ["--seccomp", str(seccomp_fd), "--", *argv]
    return Launch(
        argv=cmd,
        env=base_env("/tmp", "/tmp", env),
        pass_fds=(workspace_fd, seccomp_fd),
    )


def unshare(
    argv: list[str],
    *,
    workspace: Path,
    tmp: Path,
    seccomp: bytes,
    cwd: PurePosixPath,
    env: dict[str, str] | None,
) -> Launch:
    """Command line for the unshare + Landlock + seccomp tier.

    Args:
        argv: The command to run inside.
        workspace: Host path of the workspace (the only writable tree with ``tmp``).
        tmp: A private host directory used as /tmp and HOME for this call.
        seccomp: The compiled seccomp filter.
        cwd: Working directory relative to the workspace.
        env: Extra environment variables.
    """
    spec = {
        "read": [*_SYSTEM_DIRS, *_ETC_FILES, *_DEVICES, "/proc"],
        "write": [str(workspace), str(tmp), "/dev/null"],
        "seccomp": seccomp.hex(),
        "cwd": str(workspace / cwd),
        "argv": argv,
        "env": base_env(str(tmp), str(tmp), env),
    }
    cmd = ["unshare", "--user", "--map-current-user", "--keep-caps", "--pid", "--fork"]
    cmd += ["--kill-child"]
    cmd += ["--mount", "--mount-proc", "--net", "--ipc", "--uts", "--"]
    cmd += [SYSTEM_PYTHON, "-I", "-S", "-c", _launcher_source(), json.dumps(spec)]
    return Launch(argv=cmd, env={"PATH": _SEARCH_PATH})


def unsafe(
    argv: list[str], *, workspace: Path, tmp: Path, cwd: PurePosixPath, env: dict[str, str] | None
) -> Launch:
    """Command line for running without isolation (explicit unsafe mode only)."""
    return Launch(argv=argv, env=base_env(str(tmp), str(tmp), env), host_cwd=str(workspace / cwd))


def _launcher_source() -> str:
    return Path(_launcher.__file__).read_text(encoding="utf-8")


def tier_order() -> tuple[Tier, ...]:
    """Isolated tiers, best first."""
    return ("bubblewrap", "unshare")
