"""OpenTelemetry traces of runs and eval trials (the optional `agentloop[otel]` extra).

`TelemetryConfig.from_env` reads the standard `OTEL_*` variables at the edge; the modules
that import OpenTelemetry (`spans`, `tracing`) are imported only when tracing is on, so a
run without it pays nothing. See docs/observability.md.
"""

from agentloop.telemetry.config import TelemetryConfig

__all__ = ["TelemetryConfig"]
