"""Plain values of the sandbox: limits, results, tiers and errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Tier = Literal["bubblewrap", "unshare", "none"]
"""How a sandbox isolates: bubblewrap, unshare + Landlock + seccomp, or not at all (unsafe)."""

ISOLATED_TIERS: tuple[Tier, ...] = ("bubblewrap", "unshare")


@dataclass(frozen=True)
class Limits:
    """Resource limits applied to every process a sandbox runs.

    Attributes:
        cpu_seconds: CPU time per process (RLIMIT_CPU).
        memory_bytes: Address space per process (RLIMIT_AS).
        processes: Processes and threads one call may start: the cap of its pids cgroup
            where cgroups are available, and also RLIMIT_NPROC (counted per user).
        file_size_bytes: Largest file a process may write (RLIMIT_FSIZE).
        open_files: Open file descriptors per process (RLIMIT_NOFILE).
        output_bytes: Bytes of stdout (and, separately, stderr) kept; the rest is cut.
        output_kill_bytes: Total output after which the process is stopped as a flood.
        workspace_bytes: Largest total size of the workspace; a call that grows it beyond
            this is stopped.
        workspace_files: Largest number of entries in the workspace.
        tmp_bytes: Size of the private `/tmp` (bubblewrap tier).
        total_memory_bytes: Memory of one call's whole process tree together, memfd and
            tmpfs pages included (its memory cgroup, where cgroups are available).
    """

    cpu_seconds: int = 60
    memory_bytes: int = 1 << 30
    processes: int = 64
    file_size_bytes: int = 64 << 20
    open_files: int = 256
    output_bytes: int = 64 << 10
    output_kill_bytes: int = 16 << 20
    workspace_bytes: int = 256 << 20
    workspace_files: int = 20_000
    tmp_bytes: int = 64 << 20
    total_memory_bytes: int = 1 << 30


@dataclass(frozen=True)
class ExecResult:
    """What a finished command produced. A non-zero exit is data, not an exception.

    Attributes:
        exit_code: The exit status; negative for death by signal (-9 for SIGKILL).
        stdout: Decoded standard output, control sequences neutralised, maybe truncated.
        stderr: Decoded standard error, likewise.
        timed_out: The wall-clock timeout ended the process tree.
        truncated: Some output was cut (a marker shows where).
        duration: Wall-clock seconds from start to the end of the whole tree.
        tier: The isolation tier the command ran under.
        killed_reason: Why the sandbox stopped the process early, if it did
            (``"timeout"``, ``"output"``, ``"workspace"``, ``"memory"``); None otherwise.
    """

    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool
    truncated: bool
    duration: float
    tier: Tier
    killed_reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when the command exited with status 0 and was not stopped."""
        return self.exit_code == 0 and self.killed_reason is None


class SandboxError(Exception):
    """Base class of the sandbox's own errors (not of the commands it runs)."""


class SandboxUnavailable(SandboxError):
    """No isolation tier works here and the unsafe mode was not chosen."""


class WorkspaceError(SandboxError):
    """A host-side path is outside the workspace or crosses a symlink."""
