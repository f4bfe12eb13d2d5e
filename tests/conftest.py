"""Fixtures shared by every test folder."""

from __future__ import annotations

import pytest

from agentloop.errors import ConfigError
from tests._require import missing


@pytest.fixture(scope="module")
def installed() -> None:
    """The embedded llama-server binary and the 0.5B model are installed."""
    from agentloop.server import cache_dir_from_env, find_llama_server, model_path

    cache = cache_dir_from_env()
    try:
        find_llama_server(cache)
        model = model_path("0.5b", cache)
    except ConfigError as exc:
        missing(str(exc))
    if not model.exists():
        missing("the 0.5b model is not installed (scripts/install-backend)")
