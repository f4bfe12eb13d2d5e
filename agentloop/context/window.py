"""The context window: how large it is, where that number came from, and the budget in it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agentloop.context.policy import ContextPolicy
from agentloop.errors import ConfigError

DEFAULT_CONTEXT_SIZE = 4096
"""Used when neither the server nor the configuration says: small enough for any local
server people start by hand (llama-server's own default was 4,096 for a long time)."""

MIN_REPLY = 64
"""A request is never sent with less room than this for the reply."""

WindowSource = Literal["server", "config", "default"]


@dataclass(frozen=True, slots=True)
class ContextWindow:
    """A context window in tokens.

    Attributes:
        size: Tokens the server holds per request (prompt and reply together).
        source: Where the number came from: the server (`/props`, `/v1/models`), the
            configuration (`--context-size`), or `DEFAULT_CONTEXT_SIZE`.
    """

    size: int
    source: WindowSource = "config"

    def __post_init__(self) -> None:
        if self.size < 256:
            raise ConfigError(f"a context window of {self.size} tokens is too small to use")

    def reply_reserve(self, policy: ContextPolicy) -> int:
        """Tokens kept free for the reply under `policy`."""
        if policy.reply_reserve is not None:
            return min(policy.reply_reserve, self.size // 2)
        return min(2048, self.size // 4)

    def prompt_budget(self, policy: ContextPolicy) -> int:
        """The most tokens a prompt may take before it is compacted."""
        return self.size - self.reply_reserve(policy)

    def describe(self) -> str:
        """One line for `agentloop doctor` and logs."""
        origin = {
            "server": "reported by the server",
            "config": "configured",
            "default": "default; the server did not say (set --context-size)",
        }[self.source]
        return f"{self.size} tokens ({origin})"


def resolve_window(server: int | None, configured: int | None) -> ContextWindow:
    """The window to plan with: the server's own number, else the configured one, else the
    conservative default.

    A configured size smaller than the server's wins: the user may want to keep requests
    small (a shared server, faster prompts)."""
    if server and configured and configured < server:
        return ContextWindow(configured, "config")
    if server:
        return ContextWindow(server, "server")
    if configured:
        return ContextWindow(configured, "config")
    return ContextWindow(DEFAULT_CONTEXT_SIZE, "default")
