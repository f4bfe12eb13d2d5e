"""structlog events routed through `logging`: silent unless the application configures it."""

from __future__ import annotations

import logging
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
