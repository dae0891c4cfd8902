"""Logs for people and for machines: readable lines on a terminal, one JSON object per line otherwise.

`DEPEMU_LOG_FORMAT=auto` (the default) looks at the stream the lines go to (stderr): a terminal gets
text, as uvicorn and most servers print; a pipe, a file or a container runtime's log driver gets
JSON. `json` or `text` choose either anywhere (the compose file and the Helm chart say `json`).
"""

from __future__ import annotations

import json
import logging
import logging.config
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

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


class TextFormatter(logging.Formatter):
    """`21:03:42.123 INFO  [request id] message  key=value ...`: time (UTC), level, request id, message.

    The caller's `extra` fields follow as `key=value` (None left out), so an access line reads
    `POST /emulator/v1/orgs 201  surface=control ... duration_ms=3.1`. No colours: a terminal
    that is piped into `less` or a file stays clean.
    """

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        stamp = moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        extras = [
            f"{k}={json.dumps(v) if isinstance(v, str) and (' ' in v or not v) else v}"
            for k, v in vars(record).items()
            if k not in _RESERVED and not k.startswith("_") and k != "request_id" and v is not None
        ]
        line = f"{stamp} {record.levelname:<7} [{request_id}] {record.getMessage()}"
        if extras:
            line += "  " + " ".join(extras)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def resolve_format(fmt: str, stream: IO[str] | None = None) -> str:
    """`auto` becomes `text` when `stream` (default: stderr, where lines go) is a terminal, else `json`."""
    if fmt != "auto":
        return fmt
    stream = stream if stream is not None else sys.stderr
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # no stream, or a closed one
        return "json"


def log_config(level: str, fmt: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for our loggers and uvicorn's, in one format.

    Handed to `uvicorn.run(log_config=...)` too, so uvicorn's start-up, shutdown and error lines
    (and those of every worker process it starts) come out in the same format as ours. `fmt` is
    `auto`, `json` or `text` (`resolve_format`).
    """
    formatter = {"()": JsonFormatter if resolve_format(fmt) == "json" else TextFormatter}
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
