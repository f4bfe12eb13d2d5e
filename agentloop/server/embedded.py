"""The embedded backend: with no server configured, start a local llama-server with a small
model for the duration of a command, and stop it afterwards."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from agentloop.config import AgentConfig
from agentloop.server.install import (
    DEFAULT_CHAT_MODEL,
    cache_dir_from_env,
    find_llama_server,
    model_path,
    model_spec,
)
from agentloop.server.process import LlamaServer, ServerSettings
from agentloop.templates import template_path


@dataclass(frozen=True, slots=True)
class EmbeddedOptions:
    """Choices for the embedded llama-server.

    Attributes:
        model: Short name (``0.5b``/``1.5b``) or alias of an installed model.
        cache_dir: Where `scripts/install-backend` put binary and models; the default
            cache (``~/.cache/agentloop``) when None.
        ctx_size: Context window in tokens.
        threads: CPU threads; all usable cores when None.
        native_template: Use the model's own chat template instead of the shipped override
            (tool calls then arrive as text and must be recovered by the client).
        seed: Sampling seed.
        log_file: Where the server log goes; a temporary file when None.
        startup_timeout: Seconds to wait for the server to become healthy.
    """

    model: str = DEFAULT_CHAT_MODEL
    cache_dir: Path | None = None
    ctx_size: int = 8192
    threads: int | None = None
    native_template: bool = False
    seed: int | None = None
    log_file: Path | None = None
    startup_timeout: float = 180.0

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> EmbeddedOptions:
        """Read ``AGENTLOOP_CACHE``, ``AGENTLOOP_EMBEDDED_MODEL`` and ``AGENTLOOP_CTX_SIZE``;
        keyword overrides win (None values are ignored)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {"cache_dir": cache_dir_from_env(env)}
        if env.get("AGENTLOOP_EMBEDDED_MODEL"):
            values["model"] = env["AGENTLOOP_EMBEDDED_MODEL"]
        if env.get("AGENTLOOP_CTX_SIZE", "").isdigit():
            values["ctx_size"] = int(env["AGENTLOOP_CTX_SIZE"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def server_settings(options: EmbeddedOptions) -> ServerSettings:
    """Resolve binary, model and template for `options`.

    Raises:
        BackendNotInstalled: Binary or model missing; the message has the install command.
        ConfigError: Unknown model name.
    """
    spec = model_spec(options.model)
    binary = find_llama_server(options.cache_dir, model=spec.name)
    model = model_path(spec.name, options.cache_dir)
    template = None if options.native_template else template_path(spec.chat_template)
    return ServerSettings(
        binary=binary,
        model=model,
        ctx_size=options.ctx_size,
        threads=options.threads,
        chat_template_file=template,
        chat_template_kwargs={} if template is None else spec.template_kwargs,
        alias=spec.alias,
        seed=options.seed,
        log_file=options.log_file,
        startup_timeout=options.startup_timeout,
    )


def _with_server(config: AgentConfig, server: LlamaServer) -> AgentConfig:
    return dataclasses.replace(
        config,
        base_url=server.base_url,
        model=config.model or server.settings.alias,
        server_kind=config.server_kind or "llama",
    )


@asynccontextmanager
async def ensure_backend(
    config: AgentConfig, options: EmbeddedOptions | None = None
) -> AsyncIterator[AgentConfig]:
    """Yield a config whose `base_url` points at a working server.

    A configured `base_url` is yielded unchanged. Otherwise an embedded llama-server is
    started, a copy of `config` pointing at it is yielded, and the server is stopped on
    exit (also on errors and cancellation).

    Args:
        config: The run's configuration.
        options: Embedded-server choices; `EmbeddedOptions.from_env()` when None.

    Raises:
        BackendNotInstalled: No base URL and the embedded backend is not installed.
        ServerStartError: The server exited or did not become healthy.
    """
    if config.base_url:
        yield config
        return
    settings = server_settings(options or EmbeddedOptions.from_env())
    async with LlamaServer(settings) as server:
        yield _with_server(config, server)


@contextmanager
def ensure_backend_sync(
    config: AgentConfig, options: EmbeddedOptions | None = None
) -> Iterator[AgentConfig]:
    """Blocking variant of `ensure_backend`, for synchronous callers."""
    if config.base_url:
        yield config
        return
    settings = server_settings(options or EmbeddedOptions.from_env())
    with LlamaServer(settings) as server:
        yield _with_server(config, server)
