"""The self-test that decides whether a tier isolates: it attempts real breaches.

A tier is used only if, run under it, a probe can neither read nor write a host file,
reach a TCP port on the host, connect to a host unix socket (pathname or abstract),
nor change the mode or times of a host file its own uid owns. Every verdict is checked
from the host side too: the listeners must not have been reached and the owned canary
must keep its mode and times.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path

from sandbox._types import ExecResult, SandboxUnavailable

PROBE_SOURCE = r"""
import os, socket, sys
canary, port, unix_path, abstract, owned = sys.argv[1:6]
breaches = []
def attempt(name, action):
    try:
        action()
        breaches.append(name)
    except OSError:
        pass
def unix(address):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(address)
attempt("read-outside-workspace", lambda: open(canary).read())
attempt("write-outside-workspace", lambda: open(canary + ".written", "w").close())
attempt("network", lambda: socket.create_connection(("127.0.0.1", int(port)), timeout=2))
attempt("host-unix-socket", lambda: unix(unix_path))
attempt("abstract-unix-socket", lambda: unix("\0" + abstract))
attempt("chmod-outside-workspace", lambda: os.chmod(owned, 0o600))
attempt("utime-outside-workspace", lambda: os.utime(owned, (0, 0)))
print("probe-finished", *breaches)
"""

Runner = Callable[[list[str]], Awaitable[ExecResult]]


async def probe(private: Path, sandbox_uid: int | None, run: Runner) -> str | None:
    """Run the probe through ``run``; return why the tier fails to isolate, or None.

    Args:
        private: A host directory of this sandbox outside the workspace.
        sandbox_uid: The uid sandboxed code runs as when the host is root (else None).
        run: Runs an argv under the tier being tested.
    """
    canary = private / "canary"
    canary.write_text("host secret\n")
    canary.chmod(0o644)
    owned = private / "owned-canary"
    owned.write_text("owned\n")
    owned.chmod(0o644)
    if sandbox_uid is not None:
        os.chown(owned, sandbox_uid, sandbox_uid)
    before = owned.stat()
    unix_path = private / f"sock-{secrets.token_hex(4)}"
    abstract = f"agentloop-probe-{secrets.token_hex(8)}"
    with contextlib.ExitStack() as stack:
        tcp = stack.enter_context(socket.create_server(("127.0.0.1", 0)))
        listeners = [tcp]
        for address in (str(unix_path), "\0" + abstract):
            listener = stack.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
            listener.bind(address)
            listener.listen()
            listeners.append(listener)
        os.chmod(unix_path, 0o777)
        argv = [str(canary), str(tcp.getsockname()[1]), str(unix_path), abstract, str(owned)]
        try:
            result = await run(argv)
        except OSError as exc:
            return f"cannot start: {exc}"
        reached = [s for s in listeners if _was_reached(s)]
    after = owned.stat()
    lines = result.stdout.strip().splitlines()
    if not lines or not lines[-1].startswith("probe-finished"):
        return f"self-test did not run (exit {result.exit_code}): {result.stderr.strip()[:300]}"
    breaches = lines[-1].split()[1:]
    if reached:
        breaches.append("host-listener-reached")
    if (stat.S_IMODE(after.st_mode), after.st_mtime_ns) != (
        stat.S_IMODE(before.st_mode),
        before.st_mtime_ns,
    ):
        breaches.append("host-metadata-changed")
    return f"breach: {', '.join(breaches)}" if breaches else None


def _was_reached(listener: socket.socket) -> bool:
    listener.setblocking(False)
    try:
        connection, _ = listener.accept()
    except OSError:
        return False
    connection.close()
    return True


def check_reachable(workspace: Path, uid: int) -> None:
    """As root, code runs as `uid`: every folder above the workspace must let it pass.

    Raises:
        SandboxUnavailable: A parent folder is closed to ``uid``.
    """
    for parent in workspace.resolve().parents:
        info = parent.stat()
        bit = stat.S_IXUSR if info.st_uid == uid else stat.S_IXOTH
        if not info.st_mode & bit:
            raise SandboxUnavailable(
                f"sandboxed code runs as uid {uid}, which cannot reach the workspace "
                f"{workspace}: {parent} is closed to others (mode {stat.S_IMODE(info.st_mode):o}). "
                "Use a workspace outside it, or run agentloop as an ordinary user."
            )
