"""Skip a test whose real parts are missing — or, where they must exist (CI sets
AGENTLOOP_REQUIRE_BACKEND=1), fail it, so a missing install step cannot pass unseen."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(reason: str) -> NoReturn:
    """Skip with `reason`, or fail when the backend is required."""
    if os.environ.get("AGENTLOOP_REQUIRE_BACKEND") == "1":
        pytest.fail(f"{reason} (AGENTLOOP_REQUIRE_BACKEND=1: this test must run here)")
    pytest.skip(reason)
