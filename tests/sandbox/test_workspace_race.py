"""Host-side workspace handling against an attacker that swaps entries for symlinks.

Sandboxed code may replace a directory or a file that the host is walking with a
symlink to a host path at any instant. The host's walk (measuring, stripping setuid
bits, handing entries to the sandbox uid, deleting) must never act on the link's target.
Every assertion is made from the host: the canaries keep owner, mode and content.
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from pathlib import Path

import pytest

from sandbox import Sandbox
from sandbox._workspace import hand_over, remove_tree, scan

pytestmark = pytest.mark.sandbox

_SANDBOX_UID = 65534
# Swaps, as fast as it can: a directory for a symlink to the host canary directory, and
# a file (first with setuid bits the host planted) for a symlink to the host canary file.
_ATTACKER = r"""
import os, sys, time
canary_dir, canary_file, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
os.makedirs("d/sub", exist_ok=True)
for i in range(20):
    open(f"d/sub/f{i}", "w").write("x")
end = time.monotonic() + seconds
swaps = 0
while time.monotonic() < end:
    for real, link, target in (("d", "dl", canary_dir), ("x", "xl", canary_file)):
        try:
            os.symlink(target, link)
            os.rename(real, real + ".hold")
            os.rename(link, real)          # `real` is now a symlink to the host
            os.rename(real, link)
            os.rename(real + ".hold", real)
            os.unlink(link)
            swaps += 1
        except OSError:
            pass
print("swaps", swaps, flush=True)
"""


def _fingerprint(path: Path) -> list[tuple[str, int, int, int, bytes]]:
    found = []
    for entry in sorted([path, *path.rglob("*")]):
        info = entry.lstat()
        content = entry.read_bytes() if entry.is_file() else b""
        found.append((str(entry), info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode), content))
    return found


def _plant_canaries(host_dir: Path) -> tuple[Path, Path]:
    canary_dir = host_dir / "canary"
    canary_dir.mkdir()
    (canary_dir / "inner").mkdir()
    (canary_dir / "inner" / "data").write_text("CANARY-DATA\n")
    tool = canary_dir / "tool"
    tool.write_text("CANARY-TOOL\n")
    tool.chmod(0o4755)  # a setuid host file: a followed strip would change its mode
    canary_dir.chmod(0o755)
    return canary_dir, tool


def _reseed_setuid(workspace: Path) -> None:
    """Give the attacker's file setuid bits again, through a descriptor (never a link)."""
    for name in ("x", "x.hold"):
        try:
            fd = os.open(workspace / name, os.O_PATH | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                os.chmod(f"/proc/self/fd/{fd}", 0o4755)
        finally:
            os.close(fd)


async def test_symlink_swaps_during_host_walks_never_touch_the_host(
    box: Sandbox, host_dir: Path
) -> None:
    canary_dir, tool = _plant_canaries(host_dir)
    before = _fingerprint(canary_dir)
    seed = box.workspace / "x"
    seed.write_text("seed\n")
    uid = _SANDBOX_UID if os.geteuid() == 0 else None
    if uid is not None:
        os.chown(seed, uid, uid)
    seed.chmod(0o4755)
    attacker = await box.spawn(["python3", "-I", "-c", _ATTACKER, str(canary_dir), str(tool), "6"])
    walks = 0
    try:
        deadline = time.monotonic() + 5.5
        while time.monotonic() < deadline:
            _reseed_setuid(box.workspace)
            # The walk a root host does (chown to the sandbox uid, strip setuid bits),
            # and the ones every call does (measure; strip).
            await asyncio.to_thread(hand_over, box.workspace, uid)
            await asyncio.to_thread(scan, box.workspace)
            await box.check_workspace()
            walks += 1
        line = await asyncio.wait_for(attacker.stdout.readline(), 10)
    finally:
        await attacker.kill()
    swaps = int(line.split()[1])
    assert swaps > 100 and walks > 20, (swaps, walks)
    assert _fingerprint(canary_dir) == before


async def test_walk_and_removal_ignore_planted_links(box: Sandbox, host_dir: Path) -> None:
    canary_dir, tool = _plant_canaries(host_dir)
    before = _fingerprint(canary_dir)
    code = (
        "import os\n"
        f"os.symlink({str(canary_dir)!r}, 'dir-link')\n"
        f"os.symlink({str(tool)!r}, 'file-link')\n"
        "os.makedirs('deep/er')\n"
        f"os.symlink({str(canary_dir)!r}, 'deep/er/link')\n"
        "os.chmod('deep/er', 0o500); os.chmod('deep', 0o500)\n"
    )
    result = await box.exec(["python3", "-I", "-c", code], timeout=10)
    assert result.exit_code == 0, result.stderr
    usage = await box.check_workspace()
    assert usage.entries == 5  # the links are counted, never entered
    remove_tree(box.workspace)
    assert not box.workspace.exists()
    assert _fingerprint(canary_dir) == before


def test_a_hard_link_is_never_chowned_or_chmodded(host_dir: Path) -> None:
    workspace = host_dir / "ws"
    workspace.mkdir()
    outside = host_dir / "outside"
    outside.write_text("host\n")
    outside.chmod(0o4755)
    os.link(outside, workspace / "alias")
    before = outside.stat()
    hand_over(workspace, _SANDBOX_UID if os.geteuid() == 0 else None)
    after = outside.stat()
    assert (after.st_uid, after.st_mode) == (before.st_uid, before.st_mode)


async def test_a_temporary_workspace_the_model_locked_is_still_removed() -> None:
    async with Sandbox.temporary() as box:
        code = (
            "import os\nos.makedirs('a/b/c')\nopen('a/b/c/f', 'w').write('x')\n"
            "for d in ('a/b/c', 'a/b', 'a', '.'):\n    os.chmod(d, 0)\n"
        )
        result = await box.exec(["python3", "-I", "-c", code], timeout=10)
        assert result.exit_code == 0, result.stderr
        root = box.workspace.parent
    assert not root.exists()


async def test_proc_of_a_temporary_workspace_shows_no_host_path() -> None:
    async with Sandbox.temporary() as box:
        result = await box.exec(["cat", "/proc/self/mountinfo"], timeout=10)
        if box.tier != "bubblewrap" or not box.write_time_quota:
            pytest.skip("only a bubblewrap sandbox over its own tmpfs hides the host path")
        assert str(box.workspace.parent) not in result.stdout


async def test_a_closed_workspace_root_is_still_measured(box: Sandbox) -> None:
    code = "open('big', 'wb').write(b'x' * (1 << 20)); import os; os.chmod('.', 0)"
    result = await box.exec(["python3", "-I", "-c", code], timeout=10)
    assert result.exit_code == 0, result.stderr
    usage = await box.check_workspace()
    assert usage.entries == 1 and usage.bytes >= 1 << 20
