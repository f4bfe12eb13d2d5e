"""A stand-in for llama-server: parses --host/--port, answers GET /health.

Behaviour is chosen by the FAKE_MODE environment variable:
  ready       503 for FAKE_LOAD_S seconds, then 200 (default)
  crash       print an error and exit 3 at once
  never       answer 503 forever
  stubborn    like ready, but ignore SIGTERM
"""

from __future__ import annotations

import argparse
import http.server
import os
import signal
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, required=True)
args, _rest = parser.parse_known_args()
mode = os.environ.get("FAKE_MODE", "ready")
load_s = float(os.environ.get("FAKE_LOAD_S", "0.3"))
started = time.monotonic()
print(f"fake llama-server argv: {sys.argv[1:]}", flush=True)
if os.environ.get("FAKE_PIDFILE"):
    with open(os.environ["FAKE_PIDFILE"], "w") as fh:
        fh.write(str(os.getpid()))

if mode == "crash":
    print("error: failed to load model 'broken.gguf'", flush=True)
    sys.exit(3)
if mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ready = mode != "never" and time.monotonic() - started > load_s
        self.send_response(200 if ready else 503)
        self.end_headers()
        self.wfile.write(b'{"status":"ok"}' if ready else b'{"error":"loading"}')

    def log_message(self, *a: object) -> None:
        pass


http.server.HTTPServer((args.host, args.port), Handler).serve_forever()
