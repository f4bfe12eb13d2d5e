"""Items 8 and 12: profiles and the one frozen config, read from the environment at the edge."""

from __future__ import annotations

import dataclasses

import pytest

from agentloop import AgentConfig, ConfigError
from agentloop.profiles import BUILTIN_PROFILES, resolve_profile, wire_fields


def test_glm_profile_values() -> None:
    glm = BUILTIN_PROFILES["glm-4.7-flash"]
    ordinary = glm.settings(in_tool_loop=False)
    in_loop = glm.settings(in_tool_loop=True)
    assert ordinary == {
        "temperature": 1.0,
        "top_p": 0.95,
        "min_p": 0.01,
        "repetition_penalty": 1.0,
        "max_tokens": 16384,
    }
    assert in_loop["temperature"] == 0.7 and in_loop["top_p"] == 1.0 and in_loop["min_p"] == 0.01
    assert glm.settings(in_tool_loop=True, overrides={"temperature": 0})["temperature"] == 0


@pytest.mark.parametrize(
    ("model_id", "profile"),
    [
        ("unsloth/GLM-4.7-Flash", "glm-4.7-flash"),
        ("glm-4.7-flash-UD-Q4_K_XL.gguf", "glm-4.7-flash"),
        ("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "qwen2.5-coder"),
        ("some-other-model", "default"),
    ],
)
def test_profile_is_chosen_by_model_id(model_id: str, profile: str) -> None:
    assert resolve_profile(None, model_id).name == profile


def test_explicit_profile_wins_and_unknown_is_a_config_error() -> None:
    assert resolve_profile("default", "unsloth/GLM-4.7-Flash").name == "default"
    with pytest.raises(ConfigError, match="known profiles"):
        resolve_profile("nope", "x")


def test_extra_fields_use_each_servers_names() -> None:
    settings = {"temperature": 0.5, "min_p": 0.01, "top_k": 40, "repetition_penalty": 1.1}
    assert wire_fields(settings, "llama") == {
        "temperature": 0.5,
        "min_p": 0.01,
        "top_k": 40,
        "repeat_penalty": 1.1,
    }
    assert wire_fields(settings, "vllm") == {
        "temperature": 0.5,
        "min_p": 0.01,
        "top_k": 40,
        "repetition_penalty": 1.1,
    }
    assert wire_fields(settings, "openai") == {"temperature": 0.5}


def test_unknown_sampling_field_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="tempreature"):
        BUILTIN_PROFILES["default"].settings(in_tool_loop=False, overrides={"tempreature": 1})


def test_config_is_frozen_and_read_from_env_only_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTLOOP_BASE_URL", "http://10.0.0.1:8001/v1")
    assert AgentConfig().base_url is None, "the environment is read only by from_env()"
    config = AgentConfig.from_env(model=None, max_turns=7)
    assert config.base_url == "http://10.0.0.1:8001/v1" and config.max_turns == 7
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.model = "x"  # type: ignore[misc]


def test_from_env_with_an_explicit_mapping() -> None:
    env = {
        "AGENTLOOP_MODEL": "m",
        "AGENTLOOP_API_KEY": "k",
        "AGENTLOOP_SERVER_KIND": "vllm",
        "AGENTLOOP_MAX_TURNS": "3",
    }
    config = AgentConfig.from_env(env)
    assert (config.model, config.api_key, config.server_kind, config.max_turns) == (
        "m",
        "k",
        "vllm",
        3,
    )
    with pytest.raises(ConfigError, match="AGENTLOOP_MAX_TURNS"):
        AgentConfig.from_env({"AGENTLOOP_MAX_TURNS": "many"})
    with pytest.raises(ConfigError, match="server_kind"):
        AgentConfig.from_env({"AGENTLOOP_SERVER_KIND": "ollama"})
