"""CLI tests: a clean environment (no AGENTLOOP_* variables, no user config file) and a
tiny server that records request headers and can answer with a web page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.loopback import LoopbackServer


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AGENTLOOP_* variables; XDG folders under tmp_path. Returns the config dir."""
    import os

    for name in list(os.environ):
        if name.startswith("AGENTLOOP_"):
            monkeypatch.delenv(name)
    for kind in ("CONFIG", "DATA", "STATE"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    return tmp_path / "config" / "agentloop"


class RecordingServer(LoopbackServer):
    """Answers /v1/models and chat completions (plain JSON), recording each request's
    path, headers and body; with `html=True` every GET answers a web page with status 200."""

    def __init__(self, *, html: bool = False, answer: str = "4") -> None:
        self.html = html
        self.answer = answer
        self.seen: list[tuple[str, dict[str, str], Any]] = []
        super().__init__()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, body: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                outer.seen.append((self.path, dict(self.headers), None))
                if outer.html:
                    self._send(b"<!doctype html><title>Web UI</title>", "text/html")
                elif self.path.endswith("/models"):
                    self._send(json.dumps({"data": [{"id": "m"}]}).encode(), "application/json")
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                outer.seen.append((self.path, dict(self.headers), body))
                reply = {
                    "id": "x",
                    "object": "chat.completion",
                    "model": "m",
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": outer.answer},
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
                self._send(json.dumps(reply).encode(), "application/json")

        return Handler


@pytest.fixture
def recording_server() -> Iterator[type[RecordingServer]]:
    """The `RecordingServer` class (use it in a `with`)."""
    yield RecordingServer
