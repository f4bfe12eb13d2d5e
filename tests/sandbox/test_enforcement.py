"""`sandbox.enforcement()`: what doctor reports is what a sandbox really does here."""

from __future__ import annotations

import pytest

from sandbox import ISOLATED_TIERS, enforcement

pytestmark = pytest.mark.sandbox


async def test_enforcement_names_the_tier_and_every_limit_once() -> None:
    facts = await enforcement()
    assert facts.tier in ISOLATED_TIERS
    assert sorted(facts.enforced + facts.missing) == ["freezer", "memory", "pids"]
    summary = facts.summary()
    assert summary.startswith(str(facts.tier))
    assert ("NOT enforced here" in summary) == bool(facts.missing)
    if facts.enforced:
        assert f"cgroup v{facts.cgroup_version}" in summary
