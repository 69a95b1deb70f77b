"""Every service answers health, readiness, metrics, and refuses requests without a valid token."""
from __future__ import annotations

import re
import time

import pytest

from services.analytics.bootstrap import SERVICE as ANALYTICS
from services.inspections.bootstrap import SERVICE as INSPECTIONS
from services.notifications.bootstrap import SERVICE as NOTIFICATIONS
from services.plans.bootstrap import SERVICE as PLANS

ALL = [PLANS, INSPECTIONS, NOTIFICATIONS, ANALYTICS]


@pytest.mark.parametrize("definition", ALL, ids=lambda d: d.name)
def test_health_ready_metrics_and_auth(service_harness, definition):
    svc = service_harness(definition)
    assert svc.client.get("/healthz").json() == {"status": "ok", "service": definition.name}
    ready = svc.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": True, "broker": True}
    metrics = svc.client.get("/metrics").text
    assert "outbox_backlog" in metrics and "http_requests_total" in metrics
    assert "x-trace-id" in svc.client.get("/healthz").headers
    # Every business route refuses a request without a token, and one signed by an unknown key.
    from shared.auth import LocalIssuer
    from tests.security.isolation import api_routes

    forged = {"Authorization": f"Bearer {LocalIssuer.generate().issue(tenant='x', roles=['province_admin'])}"}
    routes = api_routes(svc.client.app)
    assert routes
    for path, methods in routes:
        concrete = re.sub(r"{[^}]+}", "00000000-0000-4000-8000-000000000000", path)
        for method in methods:
            assert svc.client.request(method, concrete).status_code == 401, (method, path)
            assert svc.client.request(method, concrete, headers=forged).status_code == 401, (method, path)


@pytest.mark.parametrize("definition", ALL, ids=lambda d: d.name)
def test_body_too_large_is_413(service_harness, definition):
    svc = service_harness(definition, max_body_bytes=1000)
    r = svc.client.post("/v1/anything", content=b"x" * 5000, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"] == "too_large"


def test_requests_above_the_rate_limit_get_429_per_token(service_harness, tenant):
    svc = service_harness(PLANS, rate_limit_per_minute=3)
    for attempt in range(2):  # the window is the clock minute: try again if the burst straddled two
        first, second = svc.auth(tenant, "viewer", sub=f"a{attempt}"), svc.auth(tenant, "viewer", sub=f"b{attempt}")
        minute = int(time.time() // 60)
        answers = [svc.client.get("/v1/plans", headers=first).status_code for _ in range(5)]
        if int(time.time() // 60) == minute:
            break
    assert answers[:3] == [200, 200, 200] and answers[3:] == [429, 429]
    assert svc.client.get("/v1/plans", headers=first).json()["error"] == "rate_limited"
    assert svc.client.get("/v1/plans", headers=second).status_code == 200  # another token has its own budget


async def _thread_tokens() -> float:
    import anyio.to_thread

    return anyio.to_thread.current_default_thread_limiter().total_tokens


def test_an_api_process_runs_at_most_api_threads_blocking_routes_at_once(service_harness):
    import threading

    import anyio
    from fastapi.testclient import TestClient
    from starlette.concurrency import run_in_threadpool

    from shared.api import limit_threads

    svc = service_harness(PLANS, api_threads=2)
    with TestClient(svc.client.app) as client:  # the app's lifespan sets the limit of its event loop
        assert client.portal.call(_thread_tokens) == 2
    running, most, lock = [0], [0], threading.Lock()

    def blocking() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    async def six_at_once() -> None:
        limit_threads(2)
        async with anyio.create_task_group() as tasks:
            for _ in range(6):
                tasks.start_soon(run_in_threadpool, blocking)

    anyio.run(six_at_once)
    assert most[0] == 2
