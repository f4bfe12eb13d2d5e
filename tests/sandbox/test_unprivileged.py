"""The sandbox also isolates when started by an unprivileged user (re-run as uid 65534).

The full suite can be run unprivileged as well (see docs/sandbox.md):
``setpriv --reuid=65534 --regid=65534 --clear-groups .venv/bin/python -m pytest
-p no:cacheprovider -m sandbox tests/sandbox tests/builtin_tools``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.sandbox

_BREACH_CHECK = r"""
import asyncio, json, sys
from sandbox import Sandbox

async def main() -> None:
    secret = sys.argv[1]
    async with Sandbox.temporary() as box:
        read = await box.exec(["cat", secret], timeout=10)
        net = await box.exec(["python3", "-c", "import socket; socket.socket()"], timeout=10)
        who = await box.exec(["id", "-u"], timeout=10)
        bomb = await box.exec(
            ["python3", "-c", "import os, time\ntry:\n  while True:\n"
             "    os.fork() or (time.sleep(60), os._exit(0))\nexcept OSError: print('refused')"],
            timeout=30)
        print(json.dumps({"tier": box.tier, "read": read.stdout, "net": net.exit_code,
                          "uid": who.stdout.strip(), "bomb": bomb.stdout.strip(),
                          "bomb_timed_out": bomb.timed_out}))

asyncio.run(main())
"""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root")
def test_breach_check_as_nobody() -> None:
    shared = Path(tempfile.mkdtemp(prefix="agentloop-unpriv-"))  # readable by uid 65534
    shared.chmod(0o755)
    secret = shared / "secret.txt"
    secret.write_text("HOST-SECRET\n")
    secret.chmod(0o644)
    script = shared / "check.py"
    script.write_text(_BREACH_CHECK)
    script.chmod(0o644)
    try:
        proc = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
             str(script), str(secret)],
            capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2],
            env={"PATH": os.environ["PATH"], "PYTHONPATH": str(Path(__file__).parents[2])},
        )  # fmt: skip
    finally:
        shutil.rmtree(shared)
    if "no isolation is available" in proc.stderr:
        pytest.skip(f"no isolation for uid 65534 here: {proc.stderr[-300:]}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["tier"] in ("bubblewrap", "unshare")
    assert "HOST-SECRET" not in report["read"]
    assert report["net"] != 0
    assert report["uid"] == "65534"
    # Contained: a fork was refused before the timeout (no count: the kernel's
    # per-user accounting decides exactly when).
    assert report["bomb"] == "refused" and not report["bomb_timed_out"]
