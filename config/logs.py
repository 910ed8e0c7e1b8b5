"""Log formats: plain text lines (the default), or with LEADGATE_LOG_FORMAT=json one JSON
object per line (python-json-logger) for a log collector: time, level, logger, message,
request_id (config/request_id.py), and whatever `extra=` a call adds.

The web processes get it from settings' LOGGING. Celery workers set up their own handlers
when they start (replacing Django's), so config/celery.py hands those to
celery_handlers_format below.
"""

from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.json import JsonFormatter

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"
JSON_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger"}


def json_formatter() -> logging.Formatter:
    return JsonFormatter(JSON_FIELDS, rename_fields=JSON_RENAMES)


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """Django's LOGGING for `log_format` (`plain` or `json`)."""
    formatter: dict[str, Any] = (
        {"()": "config.logs.json_formatter"} if log_format == "json" else {"format": PLAIN_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "config.request_id.RequestIdFilter"}},
        "formatters": {"main": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
    }


def celery_handlers_format(logger: logging.Logger, *, log_format: str) -> None:
    """The handlers Celery just gave `logger`: the request id filter, and the JSON
    formatter when asked for (Celery's own text format otherwise)."""
    from config.request_id import RequestIdFilter

    for handler in logger.handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
        if log_format == "json":
            handler.setFormatter(json_formatter())
