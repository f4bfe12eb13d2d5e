"""The embedded llama-server: find what `scripts/install-backend` installed, start it on a
free local port, and stop it by its PID when done.

Example:
    >>> async with ensure_backend(config) as config:  # doctest: +SKIP
    ...     result = await arun_agent("hi", base_url=config.base_url)
"""

from __future__ import annotations

from agentloop.server.embedded import (
    EmbeddedOptions,
    ensure_backend,
    ensure_backend_sync,
    server_settings,
)
from agentloop.server.install import (
    DEFAULT_CHAT_MODEL,
    DEFAULT_TEST_MODEL,
    MODELS,
    BackendNotInstalled,
    ModelName,
    ModelSpec,
    cache_dir_from_env,
    default_cache_dir,
    find_llama_server,
    install_command,
    model_path,
    model_spec,
)
from agentloop.server.process import (
    LlamaServer,
    ServerSettings,
    ServerStartError,
    build_command,
    free_port,
)

__all__ = [
    "DEFAULT_CHAT_MODEL",
    "DEFAULT_TEST_MODEL",
    "MODELS",
    "BackendNotInstalled",
    "EmbeddedOptions",
    "LlamaServer",
    "ModelName",
    "ModelSpec",
    "ServerSettings",
    "ServerStartError",
    "build_command",
    "cache_dir_from_env",
    "default_cache_dir",
    "ensure_backend",
    "ensure_backend_sync",
    "find_llama_server",
    "free_port",
    "install_command",
    "model_path",
    "model_spec",
    "server_settings",
]
