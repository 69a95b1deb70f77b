"""Reading the audit trail over HTTP; every service mounts this router."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from shared.api import PrincipalDep, RuntimeDep
from shared.audit import verify

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", summary="Audit entries of this tenant, newest first")
def list_audit(runtime: RuntimeDep, principal: PrincipalDep, table: str | None = None, row_key: str | None = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 100, before_seq: int | None = None):
    principal.require("audit:read")
    clauses, params = ["tenant = %s"], [principal.read_scope()]
    if principal.read_scope() == "*":
        clauses, params = ["true"], []
    for column, value in (("table_name", table), ("row_key", row_key)):
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    if before_seq is not None:
        clauses.append("seq < %s")
        params.append(before_seq)
    with runtime.db.tx(principal.read_scope()) as conn:
        rows = conn.execute(
            f"SELECT seq, tenant, at, actor, action, table_name, row_key, before, after, hash FROM audit_log "
            f"WHERE {' AND '.join(clauses)} ORDER BY seq DESC LIMIT %s", [*params, limit]).fetchall()
    return {"items": rows}


@router.get("/verify", summary="Verify the hash chain of this service's audit trail")
def verify_audit(runtime: RuntimeDep, principal: PrincipalDep):
    principal.require("operate")
    return verify(runtime.settings.database_url)
