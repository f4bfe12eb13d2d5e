"""`agentloop chat` with no server configured: it starts the embedded llama-server (the real
one, with the 0.5B test model), answers through it, and stops it on Ctrl-D."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from pathlib import Path

import pexpect
import pytest

from tests.chat.conftest import PROMPT, Terminal, chat_env

pytestmark = pytest.mark.e2e


def _spawn(tmp_path: Path) -> Terminal:
    env = chat_env(tmp_path)
    env["AGENTLOOP_EMBEDDED_MODEL"] = "0.5b"
    argv = ["-m", "agentloop", "chat", "--tools", "chat_tools:MATH", "--approve", "auto"]
    child = pexpect.spawn(
        sys.executable, argv, env=env, cwd=str(tmp_path), encoding="utf-8", dimensions=(40, 160)
    )
    return Terminal(child)


def test_embedded_server_tool_round_trip_then_cancel_then_quit(
    installed: None, tmp_path: Path
) -> None:
    term = _spawn(tmp_path)
    try:
        url = term.expect(r"embedded llama-server ready at (\S+)", timeout=240).group(1)
        term.expect(PROMPT)
        term.ask("Use the add_number tool to add 1234 and 5678.")
        term.expect(r"⚙ add_number\(a=1234(\.0)?, b=5678(\.0)?\)", timeout=240)
        term.expect(r"→ 6912", timeout=60)
        term.expect(r"─ \d+ in · \d+ out · [\d.]+ tok/s · .* context [\d,]+/[\d,]+", timeout=240)
        term.expect(PROMPT)
        term.ask("/set max_tokens 300")
        term.expect(r"max_tokens = 300")
        term.expect(PROMPT)
        term.ask("Write a long poem about the sea, at least forty lines.")
        # The accepted question, then the first character of the answer on the next line
        # (earlier renders of the typed line are followed by blank lines or the prompt).
        term.expect(r"forty lines\.\n[^\s>]", timeout=120)
        term.child.sendintr()
        term.expect(r"stopped: cancelled", timeout=60)
        assert term.quit() == 0
        with pytest.raises(urllib.error.URLError):  # the embedded server is gone
            urllib.request.urlopen(url.removesuffix("/v1") + "/health", timeout=5)
    finally:
        if term.child.isalive():
            term.child.terminate(force=True)
