"""Small HTTP helpers shared by the inspections routers: create answers, resends, JSON of rows."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import psycopg

from shared.api import JSONBody
from shared.auth import Principal
from shared.errors import Conflict


def created(body: Any, new: bool) -> JSONBody:
    """201 for the first request with an id, 200 with the same body for a resend."""
    return JSONBody(body, status_code=201 if new else 200)


@contextmanager
def unique_ids(what: str) -> Iterator[None]:
    """An id already taken elsewhere (another kind of record, or a record we may not see) is a 409."""
    try:
        yield
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict(f"{what} conflicts with an existing record: {exc.diag.constraint_name}", field="body.id") from None


def actor(principal: Principal) -> str:
    """How a person is named in 'recorded by' columns: their display name, else their subject."""
    return principal.name or principal.sub


def page(limit: int, offset: int, max_size: int) -> tuple[int, int]:
    return max(1, min(limit, max_size)), max(0, offset)
