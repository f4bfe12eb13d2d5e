"""Adversarial tests: each attempts a breach and checks from the host that nothing happened."""

from __future__ import annotations

import os
import socket
import stat
import time
from pathlib import Path

import pytest

from sandbox import Limits, Sandbox
from tests.sandbox.conftest import make_sandbox, processes_matching

pytestmark = pytest.mark.sandbox


def py(code: str) -> list[str]:
    return ["python3", "-I", "-c", code]


async def test_reads_outside_the_workspace_fail(box: Sandbox, secret: Path) -> None:
    attempts = [
        ["cat", str(secret)],
        ["cat", "../host-secret.txt"],
        ["cat", f"/proc/self/root{secret}"],
        ["cat", f"/proc/1/root{secret}"],
        ["cat", "/etc/shadow"],
        ["sh", "-c", "cd ..; cat host-secret.txt; cat ../../host-secret.txt"],
    ]
    for argv in attempts:
        result = await box.exec(argv, timeout=10)
        assert "HOST-SECRET" not in result.stdout + result.stderr, argv


async def test_symlink_planted_in_workspace_does_not_reach_host(box: Sandbox, secret: Path) -> None:
    code = f"import os; os.symlink({str(secret)!r}, 'link'); print(open('link').read())"
    result = await box.exec(py(code), timeout=10)
    assert "HOST-SECRET" not in result.stdout
    before = secret.stat()
    await box.check_workspace()  # host-side walk (and chown as root) must not follow it
    after = secret.stat()
    assert (after.st_uid, after.st_mode) == (before.st_uid, before.st_mode)


async def test_writes_outside_the_workspace_fail(box: Sandbox, host_dir: Path) -> None:
    target = host_dir / "planted.txt"
    for argv in (
        ["touch", str(target)],
        ["sh", "-c", "echo x > ../planted.txt"],
        py(f"open({str(target)!r}, 'w').write('x')"),
        ["touch", f"/proc/self/root{target}"],
    ):
        await box.exec(argv, timeout=10)
        assert not target.exists(), argv


async def test_network_is_unreachable(box: Sandbox) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        code = (
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
            "    print('CONNECTED')\n"
            "except OSError as e:\n    print('blocked', e)\n"
        )
        result = await box.exec(py(code), timeout=10)
        assert "CONNECTED" not in result.stdout
        bash = await box.exec(["bash", "-c", f"echo hi > /dev/tcp/127.0.0.1/{port}"], timeout=10)
        assert bash.exit_code != 0
        with pytest.raises(TimeoutError):
            listener.accept()


async def test_memory_limit_raises_memory_error(box: Sandbox) -> None:
    result = await box.exec(py("b = bytearray(8 << 30)"), timeout=20)
    assert result.exit_code != 0
    assert "MemoryError" in result.stderr


async def test_cpu_limit_stops_a_busy_loop(host_dir: Path) -> None:
    workspace = host_dir / "ws"
    workspace.mkdir()
    box = await make_sandbox("bubblewrap", workspace, Limits(cpu_seconds=1))
    try:
        started = time.monotonic()
        result = await box.exec(py("while True: pass"), timeout=30)
        assert time.monotonic() - started < 10
        assert result.exit_code != 0 and not result.timed_out
    finally:
        await box.aclose()


async def test_disk_fill_with_many_small_files_is_stopped(host_dir: Path) -> None:
    workspace = host_dir / "ws"
    workspace.mkdir()
    limits = Limits(workspace_files=300, workspace_bytes=4 << 20)
    box = await make_sandbox("bubblewrap", workspace, limits)
    try:
        code = (
            "import itertools\nfor i in itertools.count():\n    open(f'f{i}', 'w').write('x' * 100)"
        )
        result = await box.exec(py(code), timeout=30)
        assert result.killed_reason == "workspace"
        assert "workspace grew past its limit" in result.stderr
        assert len(os.listdir(workspace)) < 100_000
        big = await box.exec(py("open('big', 'wb').write(b'0' * (100 << 20))"), timeout=30)
        assert big.exit_code != 0
        assert not (workspace / "big").exists() or (workspace / "big").stat().st_size <= 64 << 20
    finally:
        await box.aclose()


async def test_background_processes_do_not_survive(box: Sandbox) -> None:
    script = (
        "sleep 31337 & nohup sleep 31338 >/dev/null 2>&1 & "
        "setsid sleep 31339 & (sleep 31340 &); "
        "python3 -c 'import os\nif os.fork() == 0:\n  os.setsid()\n"
        '  os.execvp("sleep", ["sleep", "31341"])\'; '
        "echo started"
    )
    result = await box.exec(["sh", "-c", script], timeout=10)
    assert "started" in result.stdout
    assert result.duration < 5
    assert processes_matching("3133") == [] and processes_matching("31340") == []


async def test_timeout_kills_the_whole_tree(box: Sandbox) -> None:
    started = time.monotonic()
    result = await box.exec(["sh", "-c", "sleep 27182 & sleep 27183"], timeout=1)
    assert result.timed_out and result.killed_reason == "timeout"
    assert time.monotonic() - started < 5
    assert "timeout" in result.stderr
    assert processes_matching("2718") == []


async def test_output_flood_is_bounded(box: Sandbox) -> None:
    result = await box.exec(["yes"], timeout=20)
    assert result.truncated and result.killed_reason == "output"
    assert len(result.stdout) < 2 * box.limits.output_bytes
    assert "bytes of output omitted" in result.stdout


async def test_control_sequences_are_neutralised(box: Sandbox) -> None:
    payload = r"printf '\033]0;pwned\007\033[2J\033[31mred\033[0m\rover\x9b1m\n'"
    result = await box.exec(["sh", "-c", payload], timeout=10)
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "red" in result.stdout and "\r" not in result.stdout


async def test_environment_is_minimal(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTLOOP_API_KEY", "sk-leak-me")
    result = await box.exec(["env"], timeout=10)
    assert "sk-leak-me" not in result.stdout
    assert "AGENTLOOP" not in result.stdout


async def test_stdin_is_dev_null_unless_given(box: Sandbox) -> None:
    silent = await box.exec(["cat"], timeout=5)
    assert silent.exit_code == 0 and silent.stdout == "" and not silent.timed_out
    given = await box.exec(["cat"], stdin="hello\n", timeout=5)
    assert given.stdout == "hello\n"


async def test_setuid_bits_cannot_be_set_or_survive(box: Sandbox) -> None:
    code = (
        "import os\n"
        "open('tool', 'w').close()\n"
        "try:\n    os.chmod('tool', 0o4755); print('chmod-ok')\n"
        "except OSError as e:\n    print('chmod', e.errno)\n"
        "try:\n    os.close(os.open('tool2', os.O_CREAT | os.O_WRONLY, 0o6755)); print('open-ok')\n"
        "except OSError as e:\n    print('open', e.errno)\n"
    )
    result = await box.exec(py(code), timeout=10)
    assert "chmod-ok" not in result.stdout
    for entry in box.workspace.iterdir():
        assert not entry.lstat().st_mode & (stat.S_ISUID | stat.S_ISGID), entry


async def test_dangerous_syscalls_are_denied(box: Sandbox) -> None:
    code = (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "for name, nr, args in (('ptrace', 101, (0, 0, 0, 0)), ('unshare', 272, (0x10000000,)),\n"
        "                       ('keyctl', 250, (0, 0, 0, 0)), ('bpf', 321, (0, 0, 0))):\n"
        "    print(name, libc.syscall(nr, *args), ctypes.get_errno())\n"
    )
    result = await box.exec(py(code), timeout=10)
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert set(lines) == {"ptrace", "unshare", "keyctl", "bpf"}
    assert all(value.startswith("-1 ") for value in lines.values()), lines


async def test_runs_unprivileged_without_capabilities(box: Sandbox) -> None:
    result = await box.exec(["sh", "-c", "id -u; grep CapEff /proc/self/status"], timeout=10)
    uid, caps = result.stdout.splitlines()
    if os.geteuid() == 0:
        assert uid != "0"
    assert caps.split()[-1] == "0000000000000000"


async def test_exit_status_is_data(box: Sandbox) -> None:
    result = await box.exec(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10)
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert not result.ok
