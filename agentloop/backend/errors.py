"""Which failures are worth a retry, and how the rest become `agentloop.errors`.

The client turns the SDK's exceptions into the three plain failures below at the seam,
so that nothing past `client.py` depends on `openai`.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from agentloop.errors import BackendError, BackendHTTPError, BackendUnavailable, ContextOverflow

_RETRY_STATUSES = frozenset({408, 429})
_OVERFLOW_MARKERS = ("exceed_context_size", "context length", "context size", "too many tokens")
# llama-server answers 500 when its chat parser rejects the model's output; newer builds
# quote the output ("Failed to parse input at pos 12: <text>"), older ones only say so.
_REJECTED_OUTPUT = re.compile(
    r"Failed to parse input at pos \d+: (?P<text>.*)|does not match the expected .* format",
    re.DOTALL,
)


class TransportFailure(Exception):
    """The request did not get an HTTP answer (refused, reset, dropped, timed out).

    Attributes:
        never_sent: The connection closed before the server saw the request (a stale
            keep-alive connection): safe to retry at once.
        timed_out: The server took longer than the timeout.
    """

    def __init__(self, message: str, *, never_sent: bool = False, timed_out: bool = False) -> None:
        super().__init__(message)
        self.never_sent = never_sent
        self.timed_out = timed_out


class StatusFailure(Exception):
    """The server answered with an error status."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str]) -> None:
        super().__init__(f"HTTP {status}: {describe_status_error(body)}")
        self.status = status
        self.body = body
        self.headers = headers


class StreamInterrupted(Exception):
    """A streamed reply broke off, or the server sent an error event mid-stream."""


def rejected_output(exc: BaseException) -> str | None:
    """The model output a server's parser rejected ("" when not quoted), or None."""
    if not isinstance(exc, StatusFailure) or exc.status != 500:
        return None
    match = _REJECTED_OUTPUT.search(describe_status_error(exc.body))
    if match is None:
        return None
    return match.group("text") or ""


def is_retryable(exc: BaseException) -> bool:
    """Connection errors, timeouts, broken streams, 408, 429 and 5xx are worth a retry."""
    if isinstance(exc, StatusFailure):
        return exc.status in _RETRY_STATUSES or exc.status >= 500
    return isinstance(exc, TransportFailure | StreamInterrupted)


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (`Retry-After`: seconds or an HTTP date)."""
    if not isinstance(exc, StatusFailure):
        return None
    value = exc.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parsed = email.utils.parsedate_to_datetime(value) if value else None
    return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def describe_status_error(body: Any) -> str:
    """The server's own message from an error body (llama-server, vLLM, OpenAI shapes)."""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            message = error.get("message") or error.get("msg") or json.dumps(error)
            return str(message)
        if isinstance(error, str):
            return error
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return str(body)[:500] if body else "no details"


def to_backend_error(exc: BaseException, base_url: str) -> BackendError:
    """The run-ending error for a failure that retries did not cure."""
    if isinstance(exc, StatusFailure):
        return _status_error(exc)
    if isinstance(exc, TransportFailure) and exc.timed_out:
        return BackendUnavailable(
            f"the model server at {base_url} did not answer in time",
            hint="it may be overloaded or stuck; check its log, or raise the request timeout",
        )
    if isinstance(exc, StreamInterrupted):
        return BackendUnavailable(
            f"the model server at {base_url} stopped mid-reply: {exc}",
            hint="check that the server is still running (agentloop doctor)",
        )
    return BackendUnavailable(
        f"cannot reach the model server at {base_url} ({exc})",
        hint="start it, or fix --base-url / AGENTLOOP_BASE_URL; `agentloop doctor` checks a server",
    )


def _status_error(exc: StatusFailure) -> BackendHTTPError:
    body, status = exc.body, exc.status
    message = describe_status_error(body)
    text = f"{message} {json.dumps(body) if body else ''}".lower()
    if status in (400, 413) and any(marker in text for marker in _OVERFLOW_MARKERS):
        return ContextOverflow(
            f"the conversation no longer fits the model's context: {message}",
            status=status,
            body=body,
            hint="start a new conversation, or give the server a larger context "
            "(llama-server --ctx-size, vLLM --max-model-len)",
        )
    return BackendHTTPError(
        f"the server answered {status}: {message}", status=status, body=body, hint=_hint(status)
    )


def _hint(status: int) -> str:
    if status in (401, 403):
        return "check the API key (AGENTLOOP_API_KEY)"
    if status == 404:
        return "check the base URL (it usually ends in /v1) and the model id (agentloop doctor)"
    if status >= 500:
        return "the server failed, often while parsing the model's output; see the server log"
    return "the request was refused; run with --debug or keep a --transcript to see it"
