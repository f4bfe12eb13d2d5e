"""agentloop's errors, in one small tree::

    AgentloopError                 base of everything agentloop raises or reports
    ├── ConfigError                misuse or bad configuration (bad profile, no prompt, ...)
    │   └── BackendNotInstalled    no embedded llama-server/model (agentloop.server)
    ├── BackendError               the model server could not be used
    │   ├── BackendUnavailable     unreachable after retries (connection refused, timeouts)
    │   └── BackendHTTPError       the server answered with an error status after retries
    │       └── ContextOverflow    the conversation no longer fits the server's context
    ├── OutputInvalid              a typed final output still invalid after its retries
    └── ShadowedModuleError        a local tools.py / sandbox.py hides agentloop's packages

Only `ConfigError` (and `ShadowedModuleError` at import) is raised by a run. Everything
else that ends a run is *reported*: the run returns its `RunResult` with a `stop_reason`
and the error instance in `RunResult.error`, the conversation so far in `messages`.
Exceptions never log; callers decide.
"""

from __future__ import annotations

from typing import Any


class AgentloopError(Exception):
    """Base of every error agentloop raises or reports.

    Attributes:
        hint: One line telling the user what to do about it ("" when there is none).
    """

    def __init__(self, message: str = "", *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint

    @property
    def message(self) -> str:
        """The error without its hint."""
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(AgentloopError):
    """Misuse or bad configuration: fix the call or the settings."""


class ShadowedModuleError(AgentloopError, ImportError):
    """A user's own module shadows one of agentloop's top-level packages."""


class BackendError(AgentloopError):
    """The model server could not be used."""


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
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.body = body


class ContextOverflow(BackendHTTPError):
    """The conversation is longer than the server's context window."""


class OutputInvalid(AgentloopError):
    """The model's final output did not validate against `output_type`, retries included."""
