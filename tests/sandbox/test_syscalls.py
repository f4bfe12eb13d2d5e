"""Setuid files cannot be made by any syscall; host sockets and host metadata are out of
reach in every tier. Each test attempts the breach and then looks from the host."""

from __future__ import annotations

import os
import platform
import socket
import stat
from pathlib import Path

import pytest

from sandbox import Sandbox

pytestmark = pytest.mark.sandbox

_SETUID_ATTEMPTS = r"""
import ctypes, os, stat
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def attempt(name, action):
    try:
        action()
        print(name, "ok")
    except OSError as exc:
        print(name, "refused", exc.errno)
def raw(nr, *args):
    if libc.syscall(nr, *args) < 0:
        raise OSError(ctypes.get_errno(), name)
open("plain", "w").close()
attempt("chmod", lambda: os.chmod("plain", 0o4755))
attempt("fchmod", lambda: os.fchmod(os.open("plain", os.O_RDONLY), 0o2755))
attempt("open", lambda: os.close(os.open("by-open", os.O_CREAT | os.O_WRONLY, 0o4755)))
attempt("mknod", lambda: os.mknod("by-mknod", stat.S_IFREG | 0o4755))
here = os.open(".", os.O_RDONLY)
attempt("mknodat", lambda: os.mknod("by-mknodat", stat.S_IFREG | 0o6755, dir_fd=here))
attempt("mkdir", lambda: os.mkdir("by-mkdir", 0o2755))
if os.uname().machine == "x86_64":
    class OpenHow(ctypes.Structure):
        _fields_ = [(n, ctypes.c_uint64) for n in ("flags", "mode", "resolve")]
    how = OpenHow(os.O_CREAT | os.O_WRONLY, 0o4755, 0)
    name = "openat2"
    attempt("openat2", lambda: raw(437, -100, b"by-openat2", ctypes.byref(how), ctypes.sizeof(how)))
    name = "fchmodat2"
    attempt("fchmodat2", lambda: raw(452, -100, b"plain", 0o4755, 0))
    name = "chmod-high-bits"
    attempt("chmod-high-bits", lambda: raw(90, b"plain", (1 << 32) | 0o4755))
"""


async def test_no_syscall_path_creates_a_setuid_file(box: Sandbox) -> None:
    result = await box.exec(["python3", "-I", "-c", _SETUID_ATTEMPTS], timeout=10)
    assert "chmod" in result.stdout, result.stderr
    for path in [box.workspace, *box.workspace.rglob("*")]:
        mode = path.lstat().st_mode
        assert not mode & (stat.S_ISUID | stat.S_ISGID), (path, oct(mode), result.stdout)


@pytest.mark.skipif(platform.machine() != "x86_64", reason="raw x86_64 syscall numbers")
async def test_ioctl_filter_ignores_the_upper_half_of_the_request(box: Sandbox) -> None:
    code = (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.syscall.restype = ctypes.c_long\n"
        "c = ctypes.c_char(b'x')\n"
        "for request in (0x5412, (1 << 32) | 0x5412, (0xdead << 32) | 0x541C):\n"
        "    r = libc.syscall(16, 0, ctypes.c_ulong(request), ctypes.byref(c))\n"
        "    print(r, ctypes.get_errno())\n"
    )
    result = await box.exec(["python3", "-I", "-c", code], timeout=10)
    lines = result.stdout.split("\n")[:3]
    # EPERM (1) is the filter's answer; anything else means the kernel saw the call.
    assert lines == ["-1 1", "-1 1", "-1 1"], result.stdout + result.stderr


async def test_host_unix_sockets_are_unreachable(box: Sandbox, host_dir: Path) -> None:
    path = host_dir / "host.sock"
    abstract = f"agentloop-test-{os.getpid()}"
    with (
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as named,
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as hidden,
    ):
        named.bind(str(path))
        named.listen()
        path.chmod(0o777)
        hidden.bind("\0" + abstract)
        hidden.listen()
        code = (
            "import socket\n"
            f"for address in ({str(path)!r}, '\\0' + {abstract!r}):\n"
            "    try:\n"
            "        s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(address)\n"
            "        s.sendall(b'hello host'); print('CONNECTED')\n"
            "    except OSError as exc:\n"
            "        print('refused', exc.errno)\n"
        )
        result = await box.exec(["python3", "-I", "-c", code], timeout=10)
        for listener in (named, hidden):
            listener.setblocking(False)
            with pytest.raises(BlockingIOError):
                listener.accept()
    assert "CONNECTED" not in result.stdout
    # A socketpair connects nothing outside and stays usable (multiprocessing needs it).
    pair = await box.exec(
        ["python3", "-I", "-c", "import socket; a, b = socket.socketpair(); print('pair')"],
        timeout=10,
    )
    assert pair.stdout == "pair\n"


async def test_host_metadata_cannot_change(box: Sandbox, host_dir: Path) -> None:
    target = host_dir / "owned-by-sandbox-uid.txt"
    target.write_text("host\n")
    target.chmod(0o644)
    if os.geteuid() == 0:
        os.chown(target, 65534, 65534)
    before = target.stat()
    code = (
        "import os, sys\n"
        "for name, action in (('chmod', lambda: os.chmod(sys.argv[1], 0o600)),\n"
        "                     ('utime', lambda: os.utime(sys.argv[1], (0, 0))),\n"
        "                     ('chown', lambda: os.chown(sys.argv[1], -1, os.getgid()))):\n"
        "    try:\n        action(); print(name, 'CHANGED')\n"
        "    except OSError as exc:\n        print(name, 'refused', exc.errno)\n"
    )
    await box.exec(["python3", "-I", "-c", code, str(target)], timeout=10)
    after = target.stat()
    assert (after.st_mode, after.st_mtime_ns, after.st_uid, after.st_gid) == (
        before.st_mode,
        before.st_mtime_ns,
        before.st_uid,
        before.st_gid,
    )


async def test_proc_shows_no_bubblewrap_command_line(box: Sandbox) -> None:
    if not box.enforcement["cgroup_controllers"]:
        pytest.skip("without a cgroup to end the tree, bwrap's own init stays pid 1")
    result = await box.exec(["cat", "/proc/1/cmdline"], timeout=10)
    assert "bwrap" not in result.stdout and "--bind" not in result.stdout


async def test_unneeded_host_directories_show_nothing(box: Sandbox) -> None:
    """Not even ``stat``: Landlock stops listing, not looking up a known name."""
    workspace_top = "/" + str(box.workspace).strip("/").split("/")[0]
    shown = {"/usr", "/bin", "/sbin", "/etc", "/proc", "/dev", workspace_top}
    probes = []
    for name in sorted(os.listdir("/")):
        path = "/" + name
        if path in shown or name.startswith("lib") or os.path.islink(path):
            continue
        try:
            children = os.listdir(path) if os.path.isdir(path) else []
        except OSError:
            continue
        if children:
            probes.append(f"{path}/{children[0]}")  # the host sees this entry
    assert probes, "this host has no other non-empty top-level directory to probe"
    code = (
        "import os, sys\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n        os.lstat(path); print(path, 'SEEN')\n"
        "    except OSError as exc:\n        print(path, 'hidden', exc.errno)\n"
    )
    result = await box.exec(["python3", "-I", "-c", code, *probes], timeout=10)
    seen = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert set(seen) == set(probes), result.stderr
    assert not [path for path, verdict in seen.items() if verdict == "SEEN"], seen
