"""`Sandbox`: run commands isolated from the host, inside one workspace directory."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path, PurePosixPath

from sandbox import _cgroup, _quota, _selftest, _tiers
from sandbox._cgroup import CallGroup, CgroupSupport
from sandbox._launcher import landlock_abi
from sandbox._process import SandboxProcess, pump, start
from sandbox._seccomp import build_filter_bpf
from sandbox._supervise import (
    LaunchSpec,
    Prepared,
    prepare,
    supervise,
    watch_all,
    watch_memory,
    watch_workspace,
    with_notes,
)
from sandbox._text import BoundedBuffer
from sandbox._types import ExecResult, Limits, SandboxError, SandboxUnavailable, Tier
from sandbox._workspace import Usage, hand_over, remove_tree, resolve_inside

_log = logging.getLogger(__name__)
_NOBODY = 65534


class Sandbox:
    """Runs commands in isolation with one writable workspace directory.

    The isolation tier is chosen on first use by a self-test that really attempts a
    breach (reading a host file, writing outside the workspace, connecting to a host
    socket) and is kept on this object. Without a working tier, calls raise
    `SandboxUnavailable` unless ``allow_unsafe`` was given, in which case every call runs
    unisolated and says so.

    Args:
        workspace: The directory commands may read and write (shown as /workspace under
            bubblewrap). Created if missing.
        limits: Default resource limits of every call.
        tier: Force one tier (still self-tested) instead of the best available.
        allow_unsafe: Run without isolation when no tier works (warns on every call).
        run_as: When running as root, the unprivileged uid to drop to before starting
            anything; default: the workspace owner, or 65534 if root owns it. As root,
            the workspace is handed (chown) to that uid so the sandbox can write it;
            only while no sandboxed process of this object runs.
        cgroups: Put every call in its own cgroups (memory, pids, freezer) where the
            host allows it; False: rlimits only.
    """

    def __init__(
        self,
        workspace: Path,
        *,
        limits: Limits | None = None,
        tier: Tier | None = None,
        allow_unsafe: bool = False,
        run_as: int | None = None,
        cgroups: bool = True,
    ) -> None:
        self.workspace = Path(workspace).absolute()
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.limits = limits or Limits()
        self.allow_unsafe = allow_unsafe
        self.diagnostics: dict[str, str] = {}
        self._forced_tier = tier
        self._tier: Tier | None = None
        self._lock = asyncio.Lock()
        self._owned_root: Path | None = None
        self._private: Path | None = None
        self._seccomp: dict[Tier, bytes] = {}
        self._live: set[SandboxProcess] = set()
        self._closed = False
        self._running = 0
        self._starting = 0
        self.write_time_quota = False
        self._want_cgroups = cgroups
        self._cgroups = CgroupSupport()
        self._run_as = self._pick_uid(run_as)

    @classmethod
    def temporary(cls, **options: object) -> Sandbox:
        """A sandbox with a fresh temporary workspace, removed by `aclose`.

        Args:
            **options: Keyword arguments of the constructor, except ``workspace``.
        """
        root = Path(tempfile.mkdtemp(prefix="agentloop-sandbox-"))
        root.chmod(0o711)
        sandbox = cls(root / "workspace", **options)  # type: ignore[arg-type]
        sandbox._owned_root = root
        # As root, the kernel enforces the size while files are written.
        _quota.sweep()
        limits = sandbox.limits
        sandbox.write_time_quota = _quota.mount_limited(
            sandbox.workspace, limits.workspace_bytes, limits.workspace_files, sandbox._run_as
        )
        return sandbox

    async def __aenter__(self) -> Sandbox:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Kill spawned processes still alive and remove the private directory (and the
        workspace, if this sandbox made it). A spawn still starting is ended as it
        completes."""
        self._closed = True
        deadline = time.monotonic() + 10.0
        while self._starting and time.monotonic() < deadline:
            await asyncio.sleep(0.01)  # a spawn in flight kills itself on completion
        for process in list(self._live):
            await process.kill()
        if self.write_time_quota:
            _quota.unmount(self.workspace)
            self.write_time_quota = False
        for path in (self._private, self._owned_root):
            if path is not None:
                await asyncio.to_thread(remove_tree, path)
        self._private = None
        self._owned_root = None

    @property
    def tier(self) -> Tier | None:
        """The tier chosen by the self-test, or None before the first call."""
        return self._tier

    @property
    def inner_workspace(self) -> PurePosixPath:
        """The workspace path as sandboxed commands see it."""
        if self._tier == "bubblewrap":
            return _tiers.INNER_WORKSPACE
        return PurePosixPath(self.workspace)

    async def ensure_ready(self) -> Tier:
        """Run the self-test once and return the tier every call will use.

        Raises:
            SandboxUnavailable: No tier isolates and unsafe mode was not allowed.
        """
        async with self._lock:
            if self._tier is None:
                if self._run_as is not None:
                    _selftest.check_reachable(self.workspace, self._run_as)
                if self._want_cgroups:
                    self._cgroups = await asyncio.to_thread(_cgroup.detect)
                    await asyncio.to_thread(_cgroup.sweep, self._cgroups)
                await self.check_workspace()
                self._tier = await self._select_tier()
            return self._tier

    async def exec(
        self,
        argv: list[str],
        *,
        stdin: bytes | str | None = None,
        cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 30.0,
        limits: Limits | None = None,
    ) -> ExecResult:
        """Run a command to completion inside the sandbox.

        Args:
            argv: Program and arguments (looked up on the sandbox's PATH).
            stdin: Input; /dev/null when None.
            cwd: Working directory relative to the workspace (default: its root).
            env: Variables added to the minimal environment.
            timeout: Wall-clock seconds before the whole process tree is killed.
            limits: Limits for this call instead of the sandbox's defaults.

        Returns:
            The result; a non-zero exit or a timeout is data, not an exception.

        Raises:
            SandboxUnavailable: No isolation is available (and unsafe mode is off).
            WorkspaceError: ``cwd`` is outside the workspace.
        """
        tier = await self.ensure_ready()
        data = stdin.encode() if isinstance(stdin, str) else stdin
        result = await self._run(tier, argv, data, cwd, env, timeout, limits or self.limits)
        if tier == "none":
            _log.warning(
                "sandbox.unsafe: running %s WITHOUT isolation (unsafe mode was chosen)",
                argv[0] if argv else "",
            )
        return result

    async def spawn(
        self,
        argv: list[str],
        *,
        cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
        limits: Limits | None = None,
    ) -> SandboxProcess:
        """Start a long-lived sandboxed process with piped stdin/stdout.

        The workspace limit is watched while it lives. The caller owns timeouts and
        must ``await process.kill()``.
        """
        tier = await self.ensure_ready()
        if tier == "none":
            _log.warning(
                "sandbox.unsafe: running %s WITHOUT isolation (unsafe mode was chosen)",
                argv[0] if argv else "",
            )
        limits = limits or self.limits
        rel = resolve_inside(self.workspace, cwd or ".")
        baseline = await self.check_workspace()
        prepared = self._prepare(tier, argv, rel, env, limits)
        self._starting += 1  # until it is in self._live
        try:
            prepared.group = self._new_group(limits)
            proc = await start(
                prepared.launch,
                limits=limits,
                run_as=self._run_as,
                stdin=PIPE,
                stream_limit=8 << 20,
                group=prepared.group,
            )
        except BaseException:
            self._starting -= 1
            prepared.release()
            raise
        finally:
            prepared.close_fds()
        stderr = BoundedBuffer(limits.output_bytes)
        holder: list[SandboxProcess] = []

        def stop(why: str) -> None:
            holder[0].stop(why)

        assert proc.stderr is not None
        tasks = [
            asyncio.create_task(
                pump(proc.stderr, stderr, lambda: stop("output"), limits.output_kill_bytes)
            ),
            asyncio.create_task(watch_workspace(self.workspace, baseline, limits, stop)),
            asyncio.create_task(watch_memory(prepared.group, stop)),
        ]

        def release() -> None:
            prepared.release()
            self._live.discard(holder[0])

        holder.append(SandboxProcess(proc, stderr, tasks, release, prepared.group))
        self._starting -= 1
        if self._closed:  # closed while this process was starting: it must not outlive us
            await holder[0].kill()
            raise SandboxError("the sandbox was closed while the process was starting")
        self._live.add(holder[0])
        return holder[0]

    async def check_workspace(self) -> Usage:
        """Measure the workspace and strip setuid/setgid bits, by descriptors only.

        As root, entries owned by anyone else are also handed to the sandbox uid, but
        only while no sandboxed process of this object runs.
        """
        idle = not (self._live or self._running or self._starting)
        owner = self._run_as if idle else None
        return await asyncio.to_thread(hand_over, self.workspace, owner)

    @property
    def enforcement(self) -> dict[str, object]:
        """What this sandbox enforces here (after `ensure_ready`), for diagnostics."""
        return {
            "tier": self._tier,
            "cgroup_version": self._cgroups.version,
            "cgroup_controllers": sorted(self._cgroups.enforced),
            "write_time_quota": self.write_time_quota,
        }

    def _new_group(self, limits: Limits) -> CallGroup | None:
        if not self._cgroups.parents:
            return None
        # A few tasks more than the model's budget: bwrap's own processes and the shell.
        return CallGroup(self._cgroups, limits.total_memory_bytes, limits.processes + 8)

    def _pick_uid(self, run_as: int | None) -> int | None:
        if os.geteuid() != 0:
            return None
        if run_as is not None:
            return run_as
        owner = self.workspace.stat().st_uid
        return owner if owner != 0 else _NOBODY

    async def _select_tier(self) -> Tier:
        candidates = (self._forced_tier,) if self._forced_tier else _tiers.tier_order()
        for tier in candidates:
            if tier == "none":
                break
            reason = await self._self_test(tier)
            if reason is None:
                _log.debug("sandbox.tier tier=%s", tier)
                return tier
            self.diagnostics[tier] = reason
            _log.info("sandbox.tier_unavailable tier=%s reason=%s", tier, reason)
        if self.allow_unsafe:
            _log.warning("sandbox.unsafe_mode")
            return "none"
        details = "; ".join(f"{tier}: {why}" for tier, why in self.diagnostics.items())
        raise SandboxUnavailable(
            "no isolation is available, so sandboxed tools are disabled "
            f"({details or 'no tier tried'}). Install bubblewrap (Debian: apt-get install "
            "bubblewrap) or enable unprivileged user namespaces; or opt into unsafe mode."
        )

    async def _self_test(self, tier: Tier) -> str | None:
        """Attempt a breach under ``tier``; return why it fails to isolate, or None."""
        if tier == "bubblewrap" and shutil.which("bwrap") is None:
            return "bwrap is not installed"
        if tier == "unshare" and (shutil.which("unshare") is None or landlock_abi() < 1):
            return "unshare or Landlock is missing"
        if not os.path.exists(_tiers.SYSTEM_PYTHON):
            return f"{_tiers.SYSTEM_PYTHON} is missing"
        argv = [_tiers.SYSTEM_PYTHON, "-I", "-S", "-c", _selftest.PROBE_SOURCE]

        async def run(args: list[str]) -> ExecResult:
            return await self._run(tier, [*argv, *args], None, None, None, 20.0, self.limits)

        return await _selftest.probe(self._private_dir(), self._run_as, run)

    async def _run(
        self,
        tier: Tier,
        argv: list[str],
        stdin: bytes | None,
        cwd: str | os.PathLike[str] | None,
        env: dict[str, str] | None,
        timeout: float,
        limits: Limits,
    ) -> ExecResult:
        started = time.monotonic()
        rel = resolve_inside(self.workspace, cwd or ".")
        baseline = await self.check_workspace()
        prepared = self._prepare(tier, argv, rel, env, limits)
        self._running += 1
        try:
            try:
                prepared.group = self._new_group(limits)
                proc = await start(
                    prepared.launch,
                    limits=limits,
                    run_as=self._run_as,
                    stdin=DEVNULL if stdin is None else PIPE,
                    group=prepared.group,
                )
            finally:
                prepared.close_fds()
            watch = watch_all(
                functools.partial(watch_workspace, self.workspace, baseline, limits),
                functools.partial(watch_memory, prepared.group),
            )
            out, err, reason = await supervise(proc, stdin, timeout, limits, watch, prepared.group)
            if reason is None and prepared.group is not None and prepared.group.oom_kills():
                reason = "memory"
        finally:
            self._running -= 1
            await asyncio.to_thread(prepared.release)
        await self.check_workspace()
        stderr = with_notes(err.text(), reason, timeout, limits, unsafe=tier == "none")
        return ExecResult(
            exit_code=proc.returncode if proc.returncode is not None else -9,
            stdout=out.text(),
            stderr=stderr,
            timed_out=reason == "timeout",
            truncated=out.truncated or err.truncated,
            duration=time.monotonic() - started,
            tier=tier,
            killed_reason=reason,
        )

    def _prepare(
        self,
        tier: Tier,
        argv: list[str],
        rel: PurePosixPath,
        env: dict[str, str] | None,
        limits: Limits,
    ) -> Prepared:
        private = self._private_dir() if tier != "bubblewrap" else None
        seccomp = self._seccomp_program(tier) if tier != "none" else b""
        in_cgroup = bool(self._cgroups.parents)  # every call then gets a CallGroup
        spec = LaunchSpec(tier, argv, rel, env, limits, seccomp, in_cgroup)
        return prepare(spec, self.workspace, private, self._run_as)

    def _private_dir(self) -> Path:
        if self._private is None:
            parent = self._owned_root
            self._private = Path(tempfile.mkdtemp(prefix="agentloop-sandbox-host-", dir=parent))
            self._private.chmod(
                stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
            )
        return self._private

    def _seccomp_program(self, tier: Tier) -> bytes:
        if tier not in self._seccomp:
            self._seccomp[tier] = build_filter_bpf(unix_sockets=tier == "bubblewrap")
        return self._seccomp[tier]


PIPE = asyncio.subprocess.PIPE
DEVNULL = asyncio.subprocess.DEVNULL
