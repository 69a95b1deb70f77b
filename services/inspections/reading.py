"""Reading an inspection's records: the one place that checks the reader may see the inspection."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Any, Iterator

import psycopg

from services.inspections import store
from services.inspections.access import check_visible
from shared.auth import Principal
from shared.runtime import Runtime


@contextmanager
def visible_inspection(runtime: Runtime, principal: Principal,
                       inspection_id: uuid.UUID) -> Iterator[tuple[psycopg.Connection, dict[str, Any]]]:
    """A read transaction and the inspection, or 404 if the reader may not see it (other tenant, embargo, unit)."""
    principal.require("read")
    scope = principal.read_scope()
    with runtime.db.tx(scope) as conn:
        yield conn, check_visible(principal, store.get(conn, scope, str(inspection_id)))
