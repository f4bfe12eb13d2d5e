"""Errors as one readable line that says what to do next."""

from __future__ import annotations

from agentloop.errors import (
    AgentloopError,
    BackendError,
    BackendUnavailable,
    ContextOverflow,
    OutputInvalid,
)

START_HINT = (
    "start a server (e.g. `llama-server -m MODEL.gguf --jinja --port 8001`, then "
    "--base-url http://127.0.0.1:8001/v1), leave --base-url unset to use the embedded one, "
    "or run `agentloop doctor`"
)


def describe_error(exc: BaseException, base_url: str | None = None) -> str:
    """One line for the user: what went wrong and what to do about it."""
    where = f" at {base_url}" if base_url else ""
    if isinstance(exc, BackendUnavailable):
        reason = str(exc.args[0]) if exc.args else "unreachable"
        if "reach" not in reason:
            reason = f"cannot reach the model server{where}: {reason}"
        return f"{reason} — {exc.hint or START_HINT}"
    if isinstance(exc, ContextOverflow):
        return (
            f"{exc.message} — ask again (older turns are compacted), /reset to start over, "
            f"or give the server a larger context ({exc.hint or 'llama-server --ctx-size'})"
        )
    if isinstance(exc, BackendError):
        return f"model server error{where}: {exc}"
    if isinstance(exc, OutputInvalid):
        return f"{exc.message} — {exc.hint}"
    if isinstance(exc, AgentloopError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc} ({exc.filename or type(exc).__name__})"
    return f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)"
