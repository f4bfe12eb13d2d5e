"""`agentloop doctor` and `agentloop serve` against the real llama-server."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from agentloop.cli import main
from agentloop.server import LlamaServer, free_port

from .conftest import settings_or_skip

pytestmark = pytest.mark.e2e


def test_doctor_passes_on_the_fenced_template_server(
    base_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["doctor", "--base-url", base_url])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0, lines
    assert lines[0].startswith("[ok] reachable:")
    assert "[ok] model: qwen2.5-coder-0.5b-instruct" in lines
    assert "[info] server: llama-server" in lines
    assert any(line.startswith("[warn] context: 4,096 tokens") for line in lines)
    assert "[ok] tool calls: a trivial call came back as tool_calls" in lines
    assert any(line.startswith("[warn] parallel calls: 1 call(s)") for line in lines)


def test_doctor_fails_on_the_native_template_with_the_jinja_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_or_skip("0.5b", native_template=True, log_file=tmp_path / "log")
    with LlamaServer(settings) as server:
        code = main(["doctor", "--base-url", server.base_url])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    [tool_line] = [line for line in lines if "tool calls" in line]
    assert tool_line.startswith("[fail] tool calls: the call came back as text")
    assert "-> fix: llama-server: start it with --jinja" in tool_line


def test_serve_runs_until_ctrl_c_and_leaves_nothing_behind(tmp_path: Path) -> None:
    settings_or_skip("0.5b")
    port = free_port()
    argv = ["serve", "--embedded-model", "0.5b", "--port", str(port), "--ctx-size", "2048"]
    serve = subprocess.Popen(
        [sys.executable, "-m", "agentloop", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert serve.stdout is not None
        ready = serve.stdout.readline()
        assert ready.startswith(f"llama-server ready at http://127.0.0.1:{port}/v1"), ready
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as health:
            assert health.status == 200
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=15) == 0
    finally:
        if serve.poll() is None:
            serve.kill()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
