"""LlamaServer lifecycle against a fake llama-server: start, health wait, stop, no orphans."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agentloop.server import LlamaServer, ServerSettings, ServerStartError, build_command
from agentloop.server.install import MODELS
from agentloop.templates import template_path


def alive(pid: int) -> bool:
    """Whether `pid` is a running (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def test_command_has_jinja_one_slot_threads_template_and_alias(tmp_path: Path) -> None:
    settings = ServerSettings(
        binary=Path("/bin/llama-server"),
        model=tmp_path / "m.gguf",
        threads=3,
        chat_template_file=tmp_path / "t.jinja",
        alias="tiny",
        seed=42,
        ctx_size=4096,
    )
    argv = build_command(settings, 4321)
    joined = " ".join(argv)
    assert argv[0] == "/bin/llama-server"
    assert "--jinja" in argv
    assert "-np 1" in joined and "-t 3" in joined and "-c 4096" in joined
    assert f"--chat-template-file {tmp_path / 't.jinja'}" in joined
    assert "--alias tiny" in joined and "--seed 42" in joined
    assert "--host 127.0.0.1 --port 4321" in joined


def test_template_kwargs_are_passed_at_start_for_the_model_that_needs_them() -> None:
    """The 1.5B's template invites the next step after tool results; the 0.5B's does not
    (it then repeats its call), and a server without the shipped template gets neither."""
    settings = ServerSettings(
        binary=Path("b"), model=Path("m"), chat_template_kwargs={"invite_next_step": True}
    )
    argv = build_command(settings, 1)
    assert argv[argv.index("--chat-template-kwargs") + 1] == '{"invite_next_step": true}'
    assert "--chat-template-kwargs" not in build_command(ServerSettings(Path("b"), Path("m")), 1)
    assert MODELS["1.5b"].template_kwargs == {"invite_next_step": True}
    assert not MODELS["0.5b"].template_kwargs
    template = template_path(MODELS["1.5b"].chat_template).read_text()
    assert "invite_next_step" in template


def test_threads_default_to_usable_cores(tmp_path: Path) -> None:
    argv = build_command(ServerSettings(binary=Path("b"), model=Path("m")), 1)
    assert argv[argv.index("-t") + 1] == str(len(os.sched_getaffinity(0)))


def test_start_waits_for_health_and_stop_ends_the_process(
    fake_settings: ServerSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LOAD_S", "0.5")
    with LlamaServer(fake_settings) as server:
        pid = server.pid
        assert pid is not None and alive(pid)
        assert server.poll_health() == "ready"
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        log_path = server.log_path
    assert not alive(pid)
    assert log_path is not None and not log_path.exists(), "a clean stop removes the temp log"


def test_server_that_exits_fails_fast_with_log_tail(
    fake_settings: ServerSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_MODE", "crash")
    started = time.monotonic()
    with pytest.raises(ServerStartError) as info:
        LlamaServer(dataclasses.replace(fake_settings, startup_timeout=60)).start()
    assert time.monotonic() - started < 10
    assert "exited with code 3" in str(info.value)
    assert "failed to load model 'broken.gguf'" in info.value.log_tail


def test_server_that_never_gets_healthy_times_out_and_is_stopped(
    fake_settings: ServerSettings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "never")
    monkeypatch.setenv("FAKE_PIDFILE", str(tmp_path / "pid"))
    server = LlamaServer(dataclasses.replace(fake_settings, startup_timeout=1.0))
    with pytest.raises(ServerStartError, match="did not become healthy within 1 s"):
        server.start()
    assert not alive(int((tmp_path / "pid").read_text()))
    assert not server.running()


def test_stubborn_server_is_killed_after_grace(
    fake_settings: ServerSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_MODE", "stubborn")
    server = LlamaServer(fake_settings).start()
    pid = server.pid
    assert pid is not None
    assert server.stop(grace=0.5) == -9
    assert not alive(pid)


async def test_async_context_manager_starts_and_stops(fake_settings: ServerSettings) -> None:
    async with LlamaServer(fake_settings) as server:
        pid = server.pid
        assert pid is not None and alive(pid)
    assert not alive(pid)


async def test_cancelled_start_stops_the_child(
    fake_settings: ServerSettings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "never")
    monkeypatch.setenv("FAKE_PIDFILE", str(tmp_path / "pid"))
    task = asyncio.create_task(LlamaServer(fake_settings).astart())
    while not (tmp_path / "pid").exists():
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not alive(int((tmp_path / "pid").read_text()))


def test_error_inside_the_block_still_stops_the_server(fake_settings: ServerSettings) -> None:
    pid = None
    with pytest.raises(ZeroDivisionError), LlamaServer(fake_settings) as server:
        pid = server.pid
        1 / 0  # noqa: B018
    assert pid is not None and not alive(pid)


def test_killed_parent_leaves_no_orphan(fake_settings: ServerSettings) -> None:
    parent_code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from agentloop.server import LlamaServer, ServerSettings
        server = LlamaServer(ServerSettings(binary=Path({str(fake_settings.binary)!r}),
                                            model=Path("m.gguf"))).start()
        print(server.pid, file=sys.stderr, flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert parent.stderr is not None
    child = int(parent.stderr.readline())
    assert alive(child)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    survived = alive(child)
    if survived:
        os.kill(child, signal.SIGKILL)
    assert not survived, "llama-server outlived its killed parent"
