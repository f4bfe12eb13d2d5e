"""Chat-template files shipped with agentloop (``*.jinja`` package data)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from agentloop.errors import ConfigError


def template_path(name: str) -> Path:
    """Return the file system path of a shipped chat template.

    Args:
        name: File name, e.g. ``"qwen2.5-fenced-tools.jinja"``.

    Raises:
        ConfigError: No template of that name ships with agentloop.
    """
    path = Path(str(resources.files(__name__).joinpath(name)))
    if not path.is_file():
        raise ConfigError(f"no chat template named {name!r} ships with agentloop")
    return path
