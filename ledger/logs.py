"""Structured logging, quiet by default (WARNING); ``FLEXMARKET_LOG_LEVEL`` turns it up."""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(level: str) -> None:
    """Key=value logs on stderr at ``level`` for flexmarket and the libraries under it."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    logging.basicConfig(stream=sys.stderr, level=numeric, format="%(message)s", force=True)
    # kafka-python warns whenever its own network loop runs long (a GC pause, a busy
    # core); the warning is about the library, not about anything the user can act on.
    logging.getLogger("kafka.net").setLevel(max(numeric, logging.ERROR))
    # pandapower suggests installing numba on every power flow and estimate; our own
    # Newton-Raphson does not use it, and the advice is not the user's to act on.
    logging.getLogger("pandapower.auxiliary").setLevel(max(numeric, logging.ERROR))
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.KeyValueRenderer(key_order=["timestamp", "level", "event"]),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
