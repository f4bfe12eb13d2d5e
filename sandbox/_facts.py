"""What the sandbox enforces on this host, for `agentloop doctor` and the docs."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox._sandbox import Sandbox
from sandbox._types import SandboxUnavailable, Tier

_CONTROLS = {
    "memory": "memory per call (memfd and tmpfs included)",
    "pids": "processes per call",
    "freezer": "frozen between python calls",
}
_FALLBACKS = {
    "memory": "memory per call (only RLIMIT_AS per process, which memfd and tmpfs escape)",
    "pids": "processes per call (only RLIMIT_NPROC, counted per user)",
    "freezer": "the cgroup freezer (SIGSTOP stops the python worker between calls)",
}


@dataclass(frozen=True)
class Enforcement:
    """Facts about isolation here, found by really starting a sandbox.

    Attributes:
        tier: The tier the self-test chose, or None when none isolates.
        refused: Why better tiers were refused (tier -> reason).
        cgroup_version: 1 or 2 when per-call cgroups can be made, else 0.
        enforced: Limits enforced through cgroups (keys of the description table).
        missing: Limits that fall back to per-process rlimits (or nothing) here.
        write_time_quota: Temporary workspaces get a size-limited tmpfs (root only);
            otherwise the workspace size is polled.
    """

    tier: Tier | None
    refused: dict[str, str] = field(default_factory=dict)
    cgroup_version: int = 0
    enforced: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    write_time_quota: bool = False

    def summary(self) -> str:
        """One line: the tier and what is or is not enforced."""
        if self.tier is None:
            return "no isolation: the python and terminal tools are disabled"
        text = f"{self.tier}"
        if self.enforced:
            text += f"; cgroup v{self.cgroup_version}: " + ", ".join(
                _CONTROLS[name] for name in self.enforced
            )
        quota = "enforced while writing" if self.write_time_quota else "polled"
        text += f"; temporary workspace size {quota}"
        if self.missing:
            text += "; NOT enforced here: " + ", ".join(_FALLBACKS[name] for name in self.missing)
        return text


async def enforcement() -> Enforcement:
    """Start a throw-away sandbox and report what it enforces."""
    async with Sandbox.temporary() as box:
        try:
            tier: Tier | None = await box.ensure_ready()
        except SandboxUnavailable:
            tier = None
        facts = box.enforcement
        version = facts["cgroup_version"]
        controllers = facts["cgroup_controllers"]
        assert isinstance(version, int) and isinstance(controllers, list)
        return Enforcement(
            tier=tier,
            refused=dict(box.diagnostics),
            cgroup_version=version,
            enforced=tuple(name for name in _CONTROLS if name in controllers),
            missing=tuple(name for name in _CONTROLS if name not in controllers),
            write_time_quota=facts["write_time_quota"] is True,
        )
