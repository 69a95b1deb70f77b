"""Events the analytics service consumes: handlers run inside the consumer's transaction (inbox + effect)."""
from __future__ import annotations

from services.analytics.readmodel import HANDLERS
from shared.consumer import Handler
from shared.runtime import Runtime


def handlers(runtime: Runtime) -> dict[str, Handler]:
    """Every event type of the catalogue, each into the read models (see readmodel.py)."""
    return dict(HANDLERS)
