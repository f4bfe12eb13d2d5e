"""Tools for the `--workers` tests (importable by name, as tools of worker processes must
be) and a fake model that tells the workers apart by the pid these tools return."""

from __future__ import annotations

import multiprocessing
import os
import time
from typing import Any

from agentloop.backend import Backend, OpenAIBackend
from agentloop.config import AgentConfig
from agentloop.testing import FakeReply
from tools import tool


@tool
def worker_pid() -> int:
    """The process id of the process running this call."""
    return os.getpid()


@tool
def crash_worker() -> str:
    """End the process running this call at once, as a segfaulting tool would."""
    os._exit(3)


DELAY = 0.15


class PidModel:
    """A fake model: calls the tool the prompt names, then answers with its result; notes
    when each answer request (which carries the worker's pid) came in."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, float]] = []

    def __call__(self, body: dict[str, Any]) -> FakeReply:
        results = [m["content"] for m in body["messages"] if m["role"] == "tool"]
        if not results:
            prompt = next(m["content"] for m in body["messages"] if m["role"] == "user")
            return FakeReply(tool_calls=[(prompt.split()[0], {})], delay=DELAY)
        self.answers.append((int(results[-1]), time.monotonic()))
        return FakeReply(content=f"pid {results[-1]}", delay=DELAY)

    def most_at_once(self) -> dict[int, int]:
        """Per pid, the most answer requests in flight together (each lasts DELAY)."""
        most: dict[int, int] = {}
        for pid, start in self.answers:
            overlapping = sum(
                1 for p, s in self.answers if p == pid and s <= start < s + DELAY * 0.9
            )
            most[pid] = max(most.get(pid, 0), overlapping)
        return most


def parent_only_backend(config: AgentConfig) -> Backend:
    """A backend factory that works in the parent and fails in every worker process."""
    if multiprocessing.parent_process() is not None:
        raise RuntimeError("no server for workers")
    return OpenAIBackend(config)
