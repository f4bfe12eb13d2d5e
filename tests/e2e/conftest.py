"""One real llama-server for the whole end-to-end session (the 0.5B test model with the
shipped fenced-tools template), plus helpers to start extra servers for single tests.

The tests skip, saying the one install command, only when the binary or a model is not
installed; CI installs them (`scripts/install-backend --model all`), so there they run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentloop.server import (
    BackendNotInstalled,
    EmbeddedOptions,
    LlamaServer,
    ServerSettings,
    cache_dir_from_env,
    server_settings,
)
from tests._require import missing

E2E_CTX = 4096
"""Small enough that the overflow test stays quick, large enough for every other test."""


def settings_or_skip(model: str, **options: object) -> ServerSettings:
    """Server settings for an installed model, or skip the test with the install command."""
    try:
        return server_settings(
            EmbeddedOptions(
                model=model,
                cache_dir=cache_dir_from_env(),
                ctx_size=E2E_CTX,
                seed=42,
                **options,  # type: ignore[arg-type]
            )
        )
    except BackendNotInstalled as exc:
        missing(f"embedded backend not installed: {exc}")


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    """The session's llama-server: 0.5B model, fenced-tools template, 4096-token context."""
    with LlamaServer(settings_or_skip("0.5b")) as server:
        yield server


@pytest.fixture(scope="session")
def base_url(llama_server: LlamaServer) -> str:
    """OpenAI-compatible URL of the session's server."""
    return llama_server.base_url


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[LlamaServer]:
    """A fresh 0.5B server for a test that harms it (stopped afterwards in any case)."""
    settings = dataclasses.replace(settings_or_skip("0.5b"), log_file=tmp_path / "server.log")
    with LlamaServer(settings) as server:
        yield server
