"""Process isolation for code and commands written by a model.

`Sandbox` runs an argv inside one workspace directory, cut off from the network, the
rest of the file system and the host's processes, with resource limits, and returns an
`ExecResult`. It knows nothing about models or tools.

Example:
    async with Sandbox.temporary() as box:
        result = await box.exec(["python3", "-c", "print(6 * 7)"])
        assert result.stdout == "42\\n"
"""

from sandbox._facts import Enforcement, enforcement
from sandbox._process import SandboxProcess
from sandbox._sandbox import Sandbox
from sandbox._text import BoundedBuffer, has_unsafe_chars, sanitize_text
from sandbox._types import (
    ISOLATED_TIERS,
    ExecResult,
    Limits,
    SandboxError,
    SandboxUnavailable,
    Tier,
    WorkspaceError,
)
from sandbox._workspace import Usage, open_inside, resolve_inside

__all__ = [
    "ISOLATED_TIERS",
    "BoundedBuffer",
    "Enforcement",
    "ExecResult",
    "Limits",
    "Sandbox",
    "SandboxError",
    "SandboxProcess",
    "SandboxUnavailable",
    "Tier",
    "Usage",
    "WorkspaceError",
    "enforcement",
    "has_unsafe_chars",
    "open_inside",
    "resolve_inside",
    "sanitize_text",
]
