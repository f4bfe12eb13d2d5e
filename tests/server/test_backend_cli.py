"""`agentloop doctor` and `agentloop serve` without a real server: failures are one clear
line with the fix, and the exit code says what happened."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentloop.cli import main
from agentloop.server import free_port


def test_doctor_unreachable_server_fails_with_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    code = main(["doctor", "--base-url", url])
    out = capsys.readouterr().out
    assert code == 1
    [line] = out.splitlines()
    assert line.startswith("[fail] reachable:") and url in line
    assert "-> fix: start the server (`agentloop serve`" in line


@pytest.mark.parametrize("command", [["doctor"], ["serve", "--port", "0"]])
def test_missing_backend_names_the_one_install_command(
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("AGENTLOOP_BASE_URL", raising=False)
    monkeypatch.setenv("AGENTLOOP_CACHE", str(tmp_path))
    code = main([*command, "--embedded-model", "0.5b"])
    captured = capsys.readouterr()
    assert code == 2
    text = captured.out + captured.err
    assert "is not installed; install it with: " in text
    assert f"AGENTLOOP_CACHE={tmp_path} " in text
    assert "scripts/install-backend --model 0.5b" in text
