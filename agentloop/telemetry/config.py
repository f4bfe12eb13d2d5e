"""Tracing configuration the standard OpenTelemetry way, read once at the edge.

Tracing is on when the CLI passes `--otel` or `OTEL_TRACES_EXPORTER` names an exporter
(`otlp`, `console`); `OTEL_SDK_DISABLED=true` turns it off. Nothing is exported, and
nothing leaves the machine, otherwise. The OTLP exporter speaks HTTP/protobuf to
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`,
else `http://localhost:4318/v1/traces`, with `OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`.
Message content is recorded only with `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote

from agentloop.errors import ConfigError

DEFAULT_ENDPOINT = "http://localhost:4318"
Exporter = Literal["otlp", "console"]


@dataclass(frozen=True, slots=True)
class TelemetryConfig:
    """Where spans go.

    Attributes:
        exporter: "otlp" (HTTP/protobuf) or "console" (stdout).
        endpoint: The OTLP traces URL.
        headers: Extra HTTP headers for OTLP (e.g. an API key of a hosted collector).
        service_name: `service.name` of the resource.
        resource: Further resource attributes (`OTEL_RESOURCE_ATTRIBUTES`).
        capture_content: Record messages, arguments and results on spans.
    """

    exporter: Exporter = "otlp"
    endpoint: str = DEFAULT_ENDPOINT + "/v1/traces"
    headers: dict[str, str] = field(default_factory=dict)
    service_name: str = "agentloop"
    resource: dict[str, str] = field(default_factory=dict)
    capture_content: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, flag: bool = False) -> TelemetryConfig | None:
        """The configuration the environment (and `--otel`) asks for; None when tracing is off.

        Raises:
            ConfigError: An exporter or protocol agentloop cannot provide.
        """
        if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            return None
        names = _pairs_list(environ.get("OTEL_TRACES_EXPORTER", ""))
        if (not names and not flag) or names == ["none"]:
            return None
        exporter = (names or ["otlp"])[0]
        if exporter not in ("otlp", "console"):
            raise ConfigError(f"OTEL_TRACES_EXPORTER={exporter!r}: use otlp, console or none")
        _check_protocol(environ)
        return cls(
            exporter="otlp" if exporter == "otlp" else "console",
            endpoint=_endpoint(environ),
            headers=_pairs(
                environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
                or environ.get("OTEL_EXPORTER_OTLP_HEADERS", "")
            ),
            service_name=environ.get("OTEL_SERVICE_NAME") or "agentloop",
            resource=_pairs(environ.get("OTEL_RESOURCE_ATTRIBUTES", "")),
            capture_content=_true(
                environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "")
            ),
        )


def _true(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes")


def _pairs_list(text: str) -> list[str]:
    return [part.strip().lower() for part in text.split(",") if part.strip()]


def _pairs(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            pairs[unquote(key.strip())] = unquote(value.strip())
    return pairs


def _endpoint(environ: Mapping[str, str]) -> str:
    specific = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if specific:
        return specific
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or DEFAULT_ENDPOINT
    return base.rstrip("/") + "/v1/traces"


def _check_protocol(environ: Mapping[str, str]) -> None:
    protocol = (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol != "http/protobuf":
        raise ConfigError(f"OTLP protocol {protocol!r}: agentloop exports http/protobuf only")
