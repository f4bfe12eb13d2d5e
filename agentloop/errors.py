"""Run-ending errors. Model misbehaviour never raises; these do::

    AgentloopError                 base of everything agentloop raises on purpose
    ├── ConfigError                misuse or bad configuration (bad profile, no prompt, ...)
    │   └── BackendNotInstalled    no embedded llama-server/model (agentloop.server)
    ├── BackendError               the model server could not be used
    │   ├── BackendUnavailable     unreachable after retries (connection refused, timeouts)
    │   └── BackendHTTPError       the server answered with an error status after retries
    │       └── ContextOverflow    the conversation no longer fits the server's context
    └── ShadowedModuleError        a local tools.py / sandbox.py hides agentloop's packages

Exceptions never log; callers decide. A `BackendError` raised during a run carries the
partial `RunResult` in `.partial`, so the transcript survives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentloop.result import RunResult


class AgentloopError(Exception):
    """Base of every error agentloop raises on purpose."""


class ConfigError(AgentloopError):
    """Misuse or bad configuration: fix the call or the settings."""


class ShadowedModuleError(AgentloopError, ImportError):
    """A user's own module shadows one of agentloop's top-level packages."""


class BackendError(AgentloopError):
    """The model server could not be used.

    Attributes:
        hint: One line telling the user what to do about it.
        partial: The run so far, when the error ended a run.
    """

    def __init__(self, message: str, *, hint: str = "", partial: RunResult | None = None) -> None:
        super().__init__(message)
        self.hint = hint
        self.partial = partial

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} ({self.hint})" if self.hint else base


class BackendUnavailable(BackendError):
    """The server could not be reached, even after retries."""


class BackendHTTPError(BackendError):
    """The server answered with an error status.

    Attributes:
        status: The HTTP status code.
        body: The parsed error body, when it was JSON.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: Any = None,
        hint: str = "",
        partial: RunResult | None = None,
    ) -> None:
        super().__init__(message, hint=hint, partial=partial)
        self.status = status
        self.body = body


class ContextOverflow(BackendHTTPError):
    """The conversation is longer than the server's context window."""
