"""One frozen configuration object, built at the edge and passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from agentloop.context.policy import ContextPolicy
from agentloop.errors import ConfigError
from agentloop.profiles import ServerKind

_ENV_PREFIX = "AGENTLOOP_"
_SERVER_KINDS = ("llama", "vllm", "openai")


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """How to reach the model server and how to run the loop.

    Attributes:
        base_url: The server's OpenAI-compatible root, e.g. "http://127.0.0.1:8001/v1".
            None means "no server configured" (the CLI then starts the embedded one).
        model: Model id; None discovers it from `GET /models`.
        api_key: Sent as a bearer token (local servers usually ignore it).
        profile: Sampling profile name; None picks one by model id.
        server_kind: "llama", "vllm" or "openai"; None detects it.
        stream: Stream replies (needed for live output and time-to-first-token).
        request_timeout: Seconds a request may take before it is retried.
        connect_timeout: Seconds to establish a connection.
        max_retries: Retries of a failed request (connection errors, 408, 429, 5xx).
        retry_max_wait: Upper bound of one backoff wait, in seconds.
        max_turns: Model replies per run before the run stops with "max_turns".
        repeat_limit: The same call this many times in a row stops the run ("repeated_calls").
        sampling: Sampling overrides applied on top of the profile.
        chat_template_kwargs: Passed to the server's chat template (e.g. enable_thinking).
        parallel_tool_calls: Ask the server to allow several calls per reply.
        recover_calls: Recover calls written as text when the server returns none.
        log_content: Allow prompts, arguments and outputs into the logs.
        context_size: The server's context window in tokens, when it does not say itself
            (`/props`, `/v1/models`); a smaller value than the server's also wins.
        context: How requests are fitted into the window (docs/context.md).
    """

    base_url: str | None = None
    model: str | None = None
    api_key: str = "sk-no-key-required"
    profile: str | None = None
    server_kind: ServerKind | None = None
    stream: bool = True
    request_timeout: float = 600.0
    connect_timeout: float = 10.0
    max_retries: int = 4
    retry_max_wait: float = 20.0
    max_turns: int = 20
    repeat_limit: int = 3
    sampling: Mapping[str, Any] = field(default_factory=dict)
    chat_template_kwargs: Mapping[str, Any] = field(default_factory=dict)
    parallel_tool_calls: bool = True
    recover_calls: bool = True
    log_content: bool = False
    context_size: int | None = None
    context: ContextPolicy = field(default_factory=ContextPolicy)

    def __post_init__(self) -> None:
        if self.server_kind is not None and self.server_kind not in _SERVER_KINDS:
            raise ConfigError(
                f"server_kind must be one of {', '.join(_SERVER_KINDS)}, not {self.server_kind!r}"
            )
        if self.max_turns < 1:
            raise ConfigError("max_turns must be at least 1")
        if self.repeat_limit < 2:
            raise ConfigError("repeat_limit must be at least 2")
        if self.max_retries < 0:
            raise ConfigError("max_retries cannot be negative")
        if self.context_size is not None and self.context_size < 256:
            raise ConfigError("context_size must be at least 256 tokens")

    def with_(self, **changes: Any) -> AgentConfig:
        """A copy with these fields changed; None values are ignored."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> AgentConfig:
        """Read AGENTLOOP_BASE_URL, AGENTLOOP_MODEL, AGENTLOOP_API_KEY, AGENTLOOP_PROFILE,
        AGENTLOOP_SERVER_KIND, AGENTLOOP_MAX_TURNS and AGENTLOOP_CONTEXT_SIZE; keyword
        overrides win (None ignored)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in ("base_url", "model", "api_key", "profile", "server_kind"):
            raw = env.get(_ENV_PREFIX + name.upper())
            if raw:
                values[name] = raw
        for name in ("max_turns", "context_size"):
            raw = env.get(_ENV_PREFIX + name.upper())
            if raw:
                try:
                    values[name] = int(raw)
                except ValueError:
                    raise ConfigError(
                        f"{_ENV_PREFIX}{name.upper()} must be a number, not {raw!r}"
                    ) from None
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
