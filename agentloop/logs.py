"""Logging: structlog events routed through the standard `logging` module.

Library code logs dotted events with key/value fields (`log.info("backend.retry",
attempt=2)`); nothing is printed unless the application configures logging, which the
CLI does once with `configure()`. No global structlog configuration is touched, so an
application's own structlog setup is left alone.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_RENDER = structlog.processors.KeyValueRenderer(key_order=["event"], drop_missing=True)


def get_logger(name: str) -> Any:
    """A structlog logger that hands rendered `event key=value` lines to `logging`."""
    return structlog.wrap_logger(
        logging.getLogger(name),
        processors=[structlog.stdlib.filter_by_level, _RENDER],
        wrapper_class=structlog.stdlib.BoundLogger,
    )


def configure(level: str | int = "WARNING", *, stream: Any = None) -> None:
    """Send agentloop's (and its tools') log lines to stderr at this level (CLI only)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    for name in ("agentloop", "tools", "sandbox"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
