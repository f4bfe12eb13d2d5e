"""docker-compose.yml (no docker engine here): its flags must agree with the client's
sampling profiles and server kinds, and the documented GLM-4.7-Flash settings."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentloop.profiles import BUILTIN_PROFILES, ServerKind, resolve_profile

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"
# llama-server flag -> profile sampling field
LLAMA_FLAGS = {
    "--temp": "temperature",
    "--top-p": "top_p",
    "--min-p": "min_p",
    "--repeat-penalty": "repetition_penalty",
}
_DEFAULT = re.compile(r"^\$\{(\w+):-([^}]*)\}$")


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    result: dict[str, Any] = data["services"]
    return result


def flags(service: dict[str, Any]) -> dict[str, str | None]:
    """`--flag value` pairs of a command list (a bare flag maps to None)."""
    command = [str(part) for part in service["command"]]
    parsed: dict[str, str | None] = {}
    for i, part in enumerate(command):
        if part.startswith("-"):
            value = command[i + 1] if i + 1 < len(command) else None
            parsed[part] = None if value is None or value.startswith("--") else value
    return parsed


def default_of(value: str | None) -> str:
    """`${NAME:-default}` -> default; plain values unchanged."""
    assert value is not None
    match = _DEFAULT.match(value)
    return match.group(2) if match else value


def test_each_profile_has_one_service_on_port_8001(services: dict[str, Any]) -> None:
    by_profile = {p: name for name, s in services.items() for p in s["profiles"]}
    assert set(by_profile) == {"llama", "vllm", "cpu"}
    for service in services.values():
        assert [p.split(":")[0] for p in service["ports"]] == ["8001"]
        assert service["healthcheck"]["test"], "every service has a healthcheck"


def test_labels_name_known_server_kinds_and_profiles(services: dict[str, Any]) -> None:
    kinds = set(typing.get_args(ServerKind))
    for name, service in services.items():
        labels = service["labels"]
        assert labels["agentloop.server_kind"] in kinds, name
        assert labels["agentloop.profile"] in BUILTIN_PROFILES, name
    assert services["llama"]["labels"]["agentloop.server_kind"] == "llama"
    assert services["cpu"]["labels"]["agentloop.server_kind"] == "llama"
    assert services["vllm"]["labels"]["agentloop.server_kind"] == "vllm"


def test_served_names_select_the_labelled_profile(services: dict[str, Any]) -> None:
    served = {
        "llama": flags(services["llama"])["--alias"],
        "vllm": flags(services["vllm"])["--served-model-name"],
        "cpu": flags(services["cpu"])["--alias"],
    }
    for name, model_id in served.items():
        assert model_id is not None
        expected = services[name]["labels"]["agentloop.profile"]
        assert resolve_profile(None, model_id).name == expected, name


def test_llama_glm_flags_match_the_glm_profile(services: dict[str, Any]) -> None:
    llama = flags(services["llama"])
    profile = BUILTIN_PROFILES["glm-4.7-flash"].sampling
    for flag, field in LLAMA_FLAGS.items():
        assert float(default_of(llama[flag])) == pytest.approx(profile[field]), flag
    assert llama["-hf"] == "unsloth/GLM-4.7-Flash-GGUF:UD-Q4_K_XL"
    assert "--jinja" in llama and llama["--alias"] == "unsloth/GLM-4.7-Flash"
    assert llama["--seed"] == "3407"
    ctx = default_of(llama["--ctx-size"])
    assert int(ctx) == 16384 and llama["--ctx-size"] == "${GLM_CTX_SIZE:-16384}"
    assert services["llama"]["image"].startswith("ghcr.io/ggml-org/llama.cpp:server-cuda")
    assert services["llama"]["volumes"], "a volume keeps the downloaded model"
    gpu = services["llama"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["capabilities"] == ["gpu"]


def test_vllm_flags_match_the_glm_profile_and_parsers(services: dict[str, Any]) -> None:
    vllm = flags(services["vllm"])
    assert services["vllm"]["command"][0] == "unsloth/GLM-4.7-Flash-FP8-Dynamic"
    assert services["vllm"]["image"].startswith("vllm/vllm-openai")
    assert vllm["--tool-call-parser"] == "glm47"
    assert vllm["--reasoning-parser"] == "glm45"
    assert "--enable-auto-tool-choice" in vllm
    assert vllm["--kv-cache-dtype"] == "fp8"
    assert vllm["--gpu-memory-utilization"] == "0.95" and vllm["--seed"] == "3407"
    assert vllm["--max-model-len"] == "${GLM_MAX_MODEL_LEN:-32768}"
    assert vllm["--tensor-parallel-size"] == "${GLM_TENSOR_PARALLEL:-1}"
    assert vllm["--dtype"] == "bfloat16"
    assert vllm["--max-num-batched-tokens"] == "16384"
    env = services["vllm"]["environment"]
    assert env["PYTORCH_CUDA_ALLOC_CONF"] == "expandable_segments:False"
    assert "--speculative-config" not in vllm, "MTP stays off (10x slower reported on B200)"
    overrides = json.loads(str(vllm["--override-generation-config"]))
    profile = BUILTIN_PROFILES["glm-4.7-flash"].sampling
    assert overrides == {k: profile[k] for k in overrides}
    assert set(overrides) == {"temperature", "top_p", "min_p", "repetition_penalty"}


def test_cpu_service_uses_the_shipped_fenced_template(services: dict[str, Any]) -> None:
    cpu = services["cpu"]
    template = flags(cpu)["--chat-template-file"]
    assert template == "/templates/qwen2.5-fenced-tools.jinja"
    [mount] = [v for v in cpu["volumes"] if v.endswith(":/templates:ro")]
    host_dir = COMPOSE.parent / mount.split(":")[0]
    assert (host_dir / Path(template).name).is_file()
    assert "deploy" not in cpu, "the CPU profile needs no GPU"


def test_vllm_reserves_as_many_gpus_as_it_shards_over(services: dict[str, Any]) -> None:
    vllm = services["vllm"]
    [gpu] = vllm["deploy"]["resources"]["reservations"]["devices"]
    # One variable drives both: a mismatch makes vLLM fail at start.
    assert str(gpu["count"]) == flags(vllm)["--tensor-parallel-size"]


def test_vllm_image_is_pinned_to_a_release_with_the_glm47_parser(
    services: dict[str, Any],
) -> None:
    image = services["vllm"]["image"]
    name, _, tag = image.partition(":")
    assert name == "vllm/vllm-openai"
    match = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)", tag)
    assert match, f"pin a release, not {tag!r}"
    assert tuple(int(part) for part in match.groups()) >= (0, 15, 0)  # glm4_moe_lite, glm47
    assert "0.15.0 or newer" in COMPOSE.read_text()  # the comment says why
