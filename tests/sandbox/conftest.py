"""Fixtures for sandbox tests: a sandbox per isolation tier, skipped only when unavailable."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sandbox import Limits, Sandbox, SandboxUnavailable, Tier


async def make_sandbox(tier: Tier, workspace: Path, limits: Limits | None = None) -> Sandbox:
    """A sandbox forced to ``tier``; the test is skipped if the self-test rejects it."""
    box = Sandbox(workspace, tier=tier, limits=limits)
    try:
        await box.ensure_ready()
    except SandboxUnavailable as exc:
        await box.aclose()
        if os.environ.get("AGENTLOOP_REQUIRE_SANDBOX") and tier == "bubblewrap":
            pytest.fail(f"bubblewrap is required here but unavailable: {exc}")
        pytest.skip(f"{tier} tier unavailable here: {exc}")
    return box


@pytest.fixture
def host_dir() -> Iterator[Path]:
    """A directory every uid can enter and read (pytest's tmp_path is private to root).

    Host files put here are readable by the sandbox user if isolation fails, so reading
    them from inside is a real breach attempt.
    """
    path = Path(tempfile.mkdtemp(prefix="agentloop-test-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(params=["bubblewrap", "unshare"])
async def box(request: pytest.FixtureRequest, host_dir: Path) -> AsyncIterator[Sandbox]:
    """A sandbox of each isolated tier over ``host_dir/workspace``."""
    workspace = host_dir / "workspace"
    workspace.mkdir()
    sandbox = await make_sandbox(request.param, workspace)
    yield sandbox
    await sandbox.aclose()


@pytest.fixture
def secret(host_dir: Path) -> Path:
    """A world-readable host file outside the workspace: any read of it is a breach."""
    path = host_dir / "host-secret.txt"
    path.write_text("HOST-SECRET-7f3a\n")
    path.chmod(0o644)
    return path


def processes_matching(marker: str) -> list[int]:
    """Host pids whose command line contains ``marker``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(name))
    return found
