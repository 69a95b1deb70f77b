"""Events the analytics service consumes: handlers run inside the consumer's transaction (inbox + effect)."""
from __future__ import annotations

from services.analytics import store
from services.analytics.readmodel import HANDLERS
from shared.consumer import Handler
from shared.runtime import Runtime


def handlers(runtime: Runtime) -> dict[str, Handler]:
    """Every event type of the catalogue, each into the read models (see readmodel.py).

    Asked once as a consumer starts: the moment to fold the change counts its predecessors left
    (one row per province and database session, migration 009)."""
    with runtime.db.tx("*") as conn:
        store.fold_read_model_versions(conn)
    return dict(HANDLERS)
