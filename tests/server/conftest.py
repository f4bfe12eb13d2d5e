"""Fixtures for the server-manager tests: a fake llama-server executable, no model needed."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from agentloop.server import ServerSettings

FAKE = Path(__file__).with_name("fake_llama_server.py")


@pytest.fixture
def fake_binary(tmp_path: Path) -> Path:
    """An executable that behaves like llama-server's HTTP health endpoint."""
    binary = tmp_path / "llama-server"
    binary.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    return binary


@pytest.fixture
def fake_settings(fake_binary: Path, tmp_path: Path) -> ServerSettings:
    """Settings that start the fake server with a short startup timeout."""
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    return ServerSettings(binary=fake_binary, model=model, startup_timeout=10.0)
