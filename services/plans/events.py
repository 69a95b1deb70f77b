"""Events the plans service consumes: handlers run inside the consumer's transaction (inbox + effect)."""
from __future__ import annotations

from shared.consumer import Handler
from shared.runtime import Runtime


def handlers(runtime: Runtime) -> dict[str, Handler]:
    return {}
