"""The user's config file, read only here, at the command line's edge.

`$XDG_CONFIG_HOME/agentloop/config.toml` (default `~/.config/agentloop/config.toml`, or the
file `AGENTLOOP_CONFIG` names) holds flat `key = value` lines; each key stands for the
environment variable `AGENTLOOP_<KEY>`::

    base_url = "http://127.0.0.1:8001/v1"
    model = "qwen2.5-coder-1.5b"
    max_turns = 30
    approve = "ask"

The file is the lowest layer: the environment overrides it and command-line flags override
both. `effective_environ` folds the file into a copy of the environment, so every command
reads one mapping and the layering is decided in one place.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agentloop.errors import ConfigError

ENV_PREFIX = "AGENTLOOP_"


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting a user may keep in the file.

    Attributes:
        key: The file key; the environment variable is `AGENTLOOP_<KEY>`.
        default: What applies when nobody sets it, in words.
        flag: The command-line option that overrides it ("" when there is none).
        secret: Shown masked by `agentloop config`.
    """

    key: str
    default: str
    flag: str = ""
    secret: bool = False

    @property
    def env(self) -> str:
        """The environment variable."""
        return ENV_PREFIX + self.key.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("base_url", "the embedded llama-server", "--base-url"),
    Setting("model", "the server's first model", "--model"),
    Setting("api_key", "sk-no-key-required", "--api-key", secret=True),
    Setting("server_kind", "detected (llama, vllm, openai)", "--server-kind"),
    Setting("profile", "chosen by model id", "--profile"),
    Setting("max_turns", "20", "--max-turns"),
    Setting("context_size", "the server's (else 8192)", "--context-size"),
    Setting("approve", "ask on a terminal, deny otherwise", "--approve"),
    Setting("system", "none", "--system"),
    Setting("tools", "builtin", "--tools"),
    Setting("workspace", "~/.local/share/agentloop/workspace", "--workspace"),
    Setting("transcript", "none", "--transcript"),
    Setting("embedded_model", "1.5b", "--embedded-model"),
    Setting("ctx_size", "8192", "--ctx-size"),
    Setting("cache", "~/.cache/agentloop"),
)
_KEYS = {s.key: s for s in SETTINGS}

Source = Literal["environment", "file", "default"]


def config_path(environ: Mapping[str, str]) -> Path:
    """Where the config file is looked for: AGENTLOOP_CONFIG, else the XDG location."""
    explicit = environ.get(ENV_PREFIX + "CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "agentloop" / "config.toml"


def read_config_file(path: Path) -> dict[str, str]:
    """The file's settings as strings, by key; {} when there is no file.

    Raises:
        ConfigError: The file is not TOML, or names a key agentloop does not know.
    """
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    values: dict[str, str] = {}
    for key, value in data.items():
        if key not in _KEYS:
            known = ", ".join(_KEYS)
            raise ConfigError(f"{path}: unknown setting {key!r} (known: {known})")
        if isinstance(value, dict | list) or value is None:
            raise ConfigError(f"{path}: {key} must be a string, number or boolean")
        values[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return values


def effective_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of `environ` with the config file's settings underneath it.

    Raises:
        ConfigError: The config file is broken.
    """
    from_file = read_config_file(config_path(environ))
    merged = {_KEYS[key].env: value for key, value in from_file.items()}
    # An empty variable counts as unset everywhere in the CLI: it must not hide the file.
    merged.update({k: v for k, v in environ.items() if v or k not in merged})
    return merged


def describe(environ: Mapping[str, str]) -> list[tuple[Setting, str, Source]]:
    """Each setting's effective value (before flags) and where it came from.

    Raises:
        ConfigError: The config file is broken.
    """
    from_file = read_config_file(config_path(environ))
    rows: list[tuple[Setting, str, Source]] = []
    for setting in SETTINGS:
        if environ.get(setting.env):
            rows.append((setting, environ[setting.env], "environment"))
        elif setting.key in from_file:
            rows.append((setting, from_file[setting.key], "file"))
        else:
            rows.append((setting, setting.default, "default"))
    return rows
