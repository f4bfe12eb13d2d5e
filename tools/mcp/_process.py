"""Finding and stopping the process group of a stdio server by its PID (Linux /proc)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


def _processes() -> list[tuple[int, str, int, int, int]]:
    """(pid, state, ppid, pgrp, session) of every process we can see."""
    rows = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # After "pid (comm)": state ppid pgrp session ...
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 3:
            state, ppid, pgrp, sid = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
            rows.append((int(entry.name), state, ppid, pgrp, sid))
    return rows


def child_session_leaders() -> set[int]:
    """PIDs of our child processes that lead their own session (how stdio servers start)."""
    me = os.getpid()
    return {pid for pid, _, ppid, _, sid in _processes() if ppid == me and sid == pid}


def group_alive(pgid: int) -> bool:
    """True while a live (not zombie) process of the group exists."""
    return any(pgrp == pgid and state != "Z" for _, state, _, pgrp, _ in _processes())


def kill_group(pgid: int, grace: float = 2.0) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after `grace` seconds."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
