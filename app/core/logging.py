"""Structured logs: one JSON object per line (or plain text for a terminal)."""

from __future__ import annotations

import json
import logging
import logging.config
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# The current request's id, set by the observability middleware; "-" outside requests.
request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

# Record attributes that are not the caller's `extra`; uvicorn adds `color_message` (ANSI) to its own.
_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "color_message"}

# Our loggers and uvicorn's: with the JSON format every line the process prints is one JSON object.
LOGGERS = ("dep_emulator", "uvicorn", "uvicorn.error", "uvicorn.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _RESERVED and not k.startswith("_")})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def log_config(level: str, fmt: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for our loggers and uvicorn's, in one format.

    Handed to `uvicorn.run(log_config=...)` too, so uvicorn's start-up, shutdown and error lines
    (and those of every worker process it starts) come out in the same format as ours.
    """
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "default"}},
        "loggers": {
            name: {
                "handlers": ["default"] if "." not in name else [],
                "level": level,
                "propagate": "." in name,
            }
            for name in LOGGERS
        },
    }


def configure_logging(level: str, fmt: str) -> None:
    logging.config.dictConfig(log_config(level, fmt))
