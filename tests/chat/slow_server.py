"""A server that streams its answer slowly, word by word, so a test can press Ctrl-C while
text is arriving. (FakeOpenAIServer sends a whole stream at once after its delay.)

The first chat request gets the slow answer; later ones get `FAST_ANSWER` at once.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback import LoopbackServer

SLOW_WORDS = [f"word{i} " for i in range(200)]
FAST_ANSWER = "Paris is the capital of France."


class SlowStreamServer(LoopbackServer):
    """`with SlowStreamServer(pause=0.2) as srv:` → `srv.base_url`, `srv.requests`."""

    def __init__(self, pause: float = 0.2) -> None:
        self.pause = pause
        self.requests: list[dict[str, Any]] = []
        super().__init__()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.endswith("/models"):
                    body: dict[str, Any] = {"object": "list", "data": [{"id": "slow-model"}]}
                elif self.path == "/props":
                    body = {"default_generation_settings": {"n_ctx": 2048}}
                else:
                    body = {"status": "ok"}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                outer.requests.append(json.loads(self.rfile.read(length)))
                first = len(outer.requests) == 1
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for word in SLOW_WORDS if first else [FAST_ANSWER]:
                        self._event({"content": word}, None)
                        if first:
                            time.sleep(outer.pause)
                    self._event({}, "stop")
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client cancelled: that is the point
                self.close_connection = True

            def _event(self, delta: dict[str, Any], finish: str | None) -> None:
                chunk = {
                    "id": "chatcmpl-slow",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": "slow-model",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

        return Handler
