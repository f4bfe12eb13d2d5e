"""The window is known, not guessed; the policy is the user's and is checked."""

from __future__ import annotations

import pytest

from agentloop.config import AgentConfig
from agentloop.context import (
    DEFAULT_CONTEXT_SIZE,
    ContextPolicy,
    ContextWindow,
    EstimateCounter,
    conversation_problems,
    resolve_window,
)
from agentloop.errors import ConfigError


def test_the_servers_window_wins_over_the_default() -> None:
    assert resolve_window(8192, None) == ContextWindow(8192, "server")
    assert resolve_window(None, 16384) == ContextWindow(16384, "config")
    assert resolve_window(None, None) == ContextWindow(DEFAULT_CONTEXT_SIZE, "default")


def test_a_smaller_configured_window_wins_over_the_servers() -> None:
    assert resolve_window(32768, 8192) == ContextWindow(8192, "config")
    assert resolve_window(8192, 32768) == ContextWindow(8192, "server")


def test_the_window_says_where_its_size_came_from() -> None:
    assert "--context-size" in ContextWindow(4096, "default").describe()
    assert "reported by the server" in ContextWindow(8192, "server").describe()


def test_reply_reserve_and_budget() -> None:
    window = ContextWindow(2048)
    assert window.reply_reserve(ContextPolicy()) == 512
    assert window.prompt_budget(ContextPolicy()) == 1536
    assert ContextWindow(131072).reply_reserve(ContextPolicy()) == 2048
    assert window.reply_reserve(ContextPolicy(reply_reserve=300)) == 300


@pytest.mark.parametrize(
    "bad",
    [
        {"steps": ("shred",)},
        {"tool_result_share": 0},
        {"target_share": 1.5},
        {"reply_reserve": 0},
        {"keep_recent": 0},
    ],
)
def test_a_bad_policy_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ContextPolicy(**bad)  # type: ignore[arg-type]


def test_config_carries_the_window_and_the_policy() -> None:
    config = AgentConfig.from_env({"AGENTLOOP_CONTEXT_SIZE": "2048"})
    assert config.context_size == 2048
    assert config.context == ContextPolicy()
    off = AgentConfig(context=ContextPolicy.off())
    assert not off.context.enabled
    with pytest.raises(ConfigError, match="AGENTLOOP_CONTEXT_SIZE"):
        AgentConfig.from_env({"AGENTLOOP_CONTEXT_SIZE": "lots"})
    with pytest.raises(ConfigError):
        AgentConfig(context_size=10)


def test_the_estimate_moves_to_what_the_server_counted() -> None:
    messages = [{"role": "user", "content": "abcd" * 500}]
    estimate = EstimateCounter()
    first = estimate.count(messages, [])
    estimate.calibrate(messages, [], 520)
    assert estimate.count(messages, []) == pytest.approx(520, abs=2)
    assert first > 520, "uncalibrated, it over-counts (the safe side)"


def test_conversation_problems_finds_what_servers_refuse() -> None:
    orphan = [
        {"role": "user", "content": "hi"},
        {"role": "tool", "tool_call_id": "x", "content": "1"},
    ]
    assert "answers no open call" in conversation_problems(orphan)[0]
    unanswered = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "a", "function": {}}]},
        {"role": "user", "content": "again"},
    ]
    assert "left without results" in conversation_problems(unanswered)[0]
    late_system = [{"role": "user", "content": "hi"}, {"role": "system", "content": "x"}]
    assert conversation_problems(late_system)
