"""A chat session's conversation and settings, and how they are saved and loaded.

A saved conversation is one JSON file holding the messages exactly as they were sent
(OpenAI format) and the settings that shaped them, so `/load` continues where `/save`
left off.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agentloop.errors import ConfigError
from agentloop.profiles import SAMPLING_FIELDS

SAVE_FORMAT = "agentloop-chat"
SAVE_VERSION = 1


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """What a user can change from inside the chat.

    Attributes:
        model: Model id to ask for; None uses the server's.
        profile: Sampling profile name; None picks one by model id.
        sampling: Sampling overrides (`/set temperature 0.7`).
        system: System prompt for new conversations.
        show_reasoning: Print reasoning as it streams (`/think on`) or fold it to one line.
    """

    model: str | None = None
    profile: str | None = None
    sampling: Mapping[str, Any] = field(default_factory=dict)
    system: str | None = None
    show_reasoning: bool = True

    def with_sampling(self, name: str, value: Any) -> ChatSettings:
        """A copy with one sampling field set (None removes the override)."""
        if name not in SAMPLING_FIELDS:
            known = ", ".join(SAMPLING_FIELDS)
            raise ConfigError(f"unknown sampling field {name!r}; known: {known}")
        _check_sampling_value(name, value)
        sampling = dict(self.sampling)
        if value is None:
            sampling.pop(name, None)
        else:
            sampling[name] = value
        return replace(self, sampling=sampling)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "model": self.model,
            "profile": self.profile,
            "sampling": dict(self.sampling),
            "system": self.system,
            "show_reasoning": self.show_reasoning,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChatSettings:
        """Read what `to_json` wrote; unknown keys are ignored, bad values raise ConfigError."""
        sampling = data.get("sampling") or {}
        if not isinstance(sampling, dict):
            raise ConfigError("settings.sampling must be an object")
        unknown = set(sampling) - set(SAMPLING_FIELDS)
        if unknown:
            raise ConfigError(f"unknown sampling field(s): {', '.join(sorted(unknown))}")
        return cls(
            model=_optional_str(data, "model"),
            profile=_optional_str(data, "profile"),
            sampling=dict(sampling),
            system=_optional_str(data, "system"),
            show_reasoning=bool(data.get("show_reasoning", True)),
        )


_INTEGER_FIELDS = ("top_k", "max_tokens", "seed")


def _check_sampling_value(name: str, value: Any) -> None:
    if value is None:
        return
    if name == "stop":
        if isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            return
        raise ConfigError('stop takes a string or a list of strings, e.g. /set stop ["\\n\\n"]')
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} takes a number, not {value!r}")
    if name in _INTEGER_FIELDS and not float(value).is_integer():
        raise ConfigError(f"{name} takes a whole number, not {value!r}")


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ConfigError(f"settings.{key} must be a string")


def parse_value(raw: str) -> Any:
    """A `/set` value: JSON when it parses (numbers, lists, null), else the raw string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def save_conversation(path: Path, messages: list[dict[str, Any]], settings: ChatSettings) -> Path:
    """Write the conversation atomically (a crash never leaves half a file).

    Returns:
        The path written.
    """
    payload = {
        "format": SAVE_FORMAT,
        "version": SAVE_VERSION,
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": settings.to_json(),
        "messages": messages,
    }
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_conversation(path: Path) -> tuple[list[dict[str, Any]], ChatSettings]:
    """Read a saved conversation.

    Raises:
        ConfigError: The file is missing, not JSON, or not a saved conversation.
    """
    path = path.expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != SAVE_FORMAT:
        raise ConfigError(f"{path} is not a saved agentloop conversation")
    messages = data.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise ConfigError(f"{path}: 'messages' must be a list of objects")
    for message in messages:
        if message.get("role") not in ("system", "user", "assistant", "tool"):
            raise ConfigError(f"{path}: a message has no valid role: {message!r:.80}")
    settings = ChatSettings.from_json(data.get("settings") or {})
    return messages, settings


def state_dir(environ: Mapping[str, str]) -> Path:
    """Where chat history lives: `$XDG_STATE_HOME/agentloop` or `~/.local/state/agentloop`."""
    base = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "agentloop"


def data_dir(environ: Mapping[str, str]) -> Path:
    """Where saved chats and the default workspace live (`$XDG_DATA_HOME/agentloop`)."""
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "agentloop"


def default_save_path(directory: Path) -> Path:
    """A fresh, time-stamped file name for `/save` without a path."""
    return directory / time.strftime("chat-%Y%m%d-%H%M%S.json")
