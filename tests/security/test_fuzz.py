"""Hostile input: schemathesis generates requests from every service's OpenAPI; none may answer 5xx.

Run with a token holding every tenant role, so the generated requests reach the handlers instead of
stopping at 403. FUZZ_EXAMPLES raises the number of examples per operation (default 12).
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from infra.topology import SERVICES

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
ROLES = ("province_admin", "planner", "team_leader", "team_member", "viewer")


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_no_operation_answers_5xx(service_harness, tenant, spec):
    svc = service_harness(spec.definition(), rate_limit_per_minute=0)
    headers = svc.auth(tenant, *ROLES, unit_id="00000000-0000-4000-8000-000000000001")
    schema = schemathesis.openapi.from_asgi("/openapi.json", svc.client.app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)
        @given(operation.as_strategy())
        def probe(case):
            try:
                response = case.call(headers=headers)
                status = response.status_code
                detail = response.text[:300]
            except Exception as exc:  # the app raised through the ASGI stack: a server error too
                status, detail = 500, f"{type(exc).__name__}: {exc}"
            if status >= 500:
                failures.append(f"{operation.method.upper()} {operation.path} -> {status}: {detail} (body={case.body!r:.200}, query={case.query})")

        probe()
    assert operations > 0
    assert not failures, "\n".join(failures[:20])
