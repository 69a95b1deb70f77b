"""W3C traceparent values carried in the ce_traceparent header, so one trace id spans services."""
from __future__ import annotations

from shared.ids import random_hex
from shared.logging import current_trace_id, trace_id_var


def traceparent() -> str:
    return f"00-{current_trace_id()}-{random_hex(8)}-01"


def adopt(traceparent_value: str | None) -> None:
    """Continue the trace of an incoming event (or start a new one)."""
    parts = (traceparent_value or "").split("-")
    trace_id_var.set(parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None)
