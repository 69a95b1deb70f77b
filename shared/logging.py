"""JSON logs that carry the trace id, event id and tenant of whatever is being handled."""
from __future__ import annotations

import contextvars
import json
import logging
import sys
import time

from shared.ids import random_hex

trace_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)
event_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)
tenant_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("tenant", default=None)


def new_trace_id() -> str:
    return random_hex(16)


def current_trace_id() -> str:
    """The trace id of the current request or event, creating one when none is set."""
    tid = trace_id_var.get()
    if tid is None:
        tid = new_trace_id()
        trace_id_var.set(tid)
    return tid


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, var in (("trace_id", trace_id_var), ("event_id", event_id_var), ("tenant", tenant_var)):
            value = var.get()
            if value:
                entry[key] = value
        extra = getattr(record, "fields", None)
        if extra:
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route every logger to one JSON line per record on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
