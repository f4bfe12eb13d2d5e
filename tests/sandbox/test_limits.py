"""Per-call limits that count everything: fork and memory bombs end that call only.

The assertions state what is guaranteed (the call ends, nothing is left behind, the
host and another sandbox keep working), not counts that depend on the kernel's
accounting. Memory caps need a memory cgroup; where the host gives none (an ordinary
user without delegation) those tests skip, as `Sandbox.enforcement` reports.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox import Limits, Sandbox
from sandbox._workspace import scan
from tests.sandbox.conftest import make_sandbox, processes_matching

pytestmark = pytest.mark.sandbox

_MEMORY_LIMIT = 192 << 20


def py(code: str) -> list[str]:
    return ["python3", "-I", "-c", code]


@pytest.fixture(params=["bubblewrap", "unshare"])
async def capped(request: pytest.FixtureRequest, host_dir: Path) -> AsyncIterator[Sandbox]:
    """A sandbox whose calls may use 192 MiB together, with tmpfs larger than that."""
    workspace = host_dir / "capped"
    workspace.mkdir()
    limits = Limits(total_memory_bytes=_MEMORY_LIMIT, tmp_bytes=1 << 30)
    box = await make_sandbox(request.param, workspace, limits)
    yield box
    await box.aclose()


def needs(box: Sandbox, controller: str) -> None:
    controllers = box.enforcement["cgroup_controllers"]
    assert isinstance(controllers, list)
    if controller not in controllers:
        pytest.skip(f"no {controller} cgroup can be created here: {box.enforcement}")


async def test_fork_bomb_is_contained_and_leaves_nothing(box: Sandbox) -> None:
    code = (
        "import os, time\n"
        "try:\n"
        "    while True:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(4242)\n"
        "except OSError:\n"
        "    print('fork refused')\n"
    )
    started = time.monotonic()
    result = await box.exec(py(code), timeout=30)
    # Contained: a limit refused a fork long before the timeout (how many forks fit
    # depends on the kernel's per-user accounting, so no count is asserted).
    assert "fork refused" in result.stdout and not result.timed_out
    assert time.monotonic() - started < 25
    assert processes_matching("4242") == []
    after = await box.exec(["echo", "still here"], timeout=10)
    assert after.stdout == "still here\n"


@pytest.mark.parametrize(
    "bomb",
    [
        # memfd pages belong to no process's address space: only the cgroup counts them.
        # (Many files of 16 MiB: a single one would stop at RLIMIT_FSIZE first.)
        "import os\nchunk = b'x' * (16 << 20)\nfds = []\n"
        "for i in range(200):\n    fds.append(os.memfd_create('bomb'))\n"
        "    os.write(fds[-1], chunk)\n    print(i, flush=True)\n",
        # tmpfs pages (bubblewrap's /tmp, here larger than the cap) are charged too.
        "chunk = b'x' * (16 << 20)\n"
        "for i in range(200):\n    open(f'/tmp/bomb{i}', 'wb').write(chunk)\n"
        "    print(i, flush=True)\n",
        # Many processes, each under RLIMIT_AS, together over the cap.
        "import os, time\nfor i in range(16):\n    if os.fork() == 0:\n"
        "        b = b'x' * (64 << 20)\n        time.sleep(30)\n        os._exit(0)\n"
        "print('forked', flush=True)\nfor i in range(16):\n    os.wait()\n",
    ],
    ids=["memfd", "tmpfs", "many-processes"],
)
async def test_memory_bomb_ends_only_that_call(capped: Sandbox, host_dir: Path, bomb: str) -> None:
    needs(capped, "memory")
    if "/tmp/bomb" in bomb and capped.tier != "bubblewrap":
        pytest.skip("the unshare tier's /tmp is a host directory (disk), not a tmpfs")
    other_ws = host_dir / "other"
    other_ws.mkdir()
    other = await make_sandbox("bubblewrap", other_ws)
    try:
        started = time.monotonic()
        bombing = asyncio.create_task(capped.exec(py(bomb), timeout=40))
        await asyncio.sleep(0.5)
        meanwhile = await other.exec(["echo", "unaffected"], timeout=20)
        result = await bombing
    finally:
        await other.aclose()
    assert meanwhile.stdout == "unaffected\n"
    assert result.killed_reason == "memory" and not result.timed_out, result
    assert "more than its" in result.stderr
    assert time.monotonic() - started < 35
    # Never more than the cap was held: each line is 16 MiB held at once.
    lines = [line for line in result.stdout.split() if line.isdigit()]
    assert len(lines) * (16 << 20) <= _MEMORY_LIMIT + (16 << 20)
    again = await capped.exec(["echo", "next call works"], timeout=10)
    assert again.stdout == "next call works\n"


async def test_a_call_cannot_start_more_tasks_than_its_pids_cgroup(capped: Sandbox) -> None:
    needs(capped, "pids")
    code = (
        "import threading, time\nn = 0\ntry:\n    while True:\n"
        "        threading.Thread(target=time.sleep, args=(20,), daemon=True).start()\n"
        "        n += 1\nexcept RuntimeError:\n    print('refused', n)\n"
    )
    result = await capped.exec(py(code), timeout=30)
    assert "refused" in result.stdout and not result.timed_out
    # Threads count too: the cap is per call, whatever else runs as this uid.
    assert int(result.stdout.split()[-1]) <= capped.limits.processes + 8


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting the size-limited tmpfs needs root")
async def test_temporary_workspace_size_is_enforced_while_writing() -> None:
    limits = Limits(workspace_bytes=8 << 20, workspace_files=500)
    async with Sandbox.temporary(limits=limits) as box:
        await box.ensure_ready()
        assert box.write_time_quota
        code = "import os\nfor i in range(64):\n    open(f'f{i}', 'wb').write(b'x' * (1 << 20))\n"
        result = await box.exec(py(code), timeout=20)
        assert "No space left on device" in result.stderr
        # Measured from the host: never more than the limit was stored.
        assert scan(box.workspace).bytes <= 8 << 20
        many = await box.exec(py("for i in range(5000): open(f'e{i}', 'w')"), timeout=20)
        assert "No space left on device" in many.stderr
        assert scan(box.workspace).entries <= 501
        workspace = box.workspace
    assert not workspace.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting the size-limited tmpfs needs root")
async def test_a_workspace_tmpfs_left_by_a_dead_process_is_swept() -> None:
    leak = (
        "from sandbox import Sandbox; import os; print(Sandbox.temporary().workspace); os._exit(0)"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", leak, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    leaked = out.decode().strip()
    assert os.path.ismount(leaked)
    async with Sandbox.temporary():
        assert not os.path.ismount(leaked) and not os.path.exists(leaked)
