"""The API with several worker processes (``<SERVICE>_API_WORKERS``), started as the stack starts it:
every worker answers, the rate limit is one budget per token across them (Redis), and /metrics counts
the requests of all of them."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from infra.servers import free_port
from services.inspections.bootstrap import SERVICE
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def two_workers(make_database, kafka_bootstrap, redis_url, issuer, topic_prefix, tmp_path):
    url = make_database("inspections")
    SERVICE.migrate(SERVICE.settings_cls(database_url=url))
    port = free_port()
    env = {"DATABASE_URL": url, "KAFKA_BOOTSTRAP": kafka_bootstrap, "REDIS_URL": redis_url, "TOPIC_PREFIX": topic_prefix,
           "JWKS": issuer.jwks(), "JWT_ISSUER": issuer.issuer, "JWT_AUDIENCE": issuer.audience, "API_PORT": str(port),
           "API_WORKERS": "2", "RATE_LIMIT_PER_MINUTE": "6", "LOG_LEVEL": "WARNING"}
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "services.inspections", "api"], cwd=ROOT,
                            env={**os.environ, **{f"INSPECTIONS_{k}": v for k, v in env.items()},
                                 "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _status(base + "/readyz") == 200, timeout=60, message="API workers ready")
        yield base, proc, metrics_dir
    finally:
        proc.terminate()
        proc.wait(30)


def _status(url: str, **kw) -> int | None:
    try:
        return httpx.get(url, timeout=5, **kw).status_code  # a new connection each time: any worker may take it
    except httpx.HTTPError:
        return None


def _workers(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]


def test_two_workers_answer_share_the_rate_limit_and_report_every_request(two_workers, issuer, tenant):
    base, proc, metrics_dir = two_workers
    assert len(_workers(proc.pid)) == 2
    # Both workers take connections: each one that counted a request has its own metrics file.
    with ThreadPoolExecutor(8) as pool:
        for _ in range(20):
            assert set(pool.map(lambda _: _status(base + "/healthz"), range(16))) == {200}
            if len(list(metrics_dir.glob("counter_*.db"))) >= 2:
                break
    assert len(list(metrics_dir.glob("counter_*.db"))) >= 2
    healthz = _count(httpx.get(base + "/metrics").text, "/healthz", "200")
    assert healthz >= 16  # every worker's requests, whichever answers the scrape

    answered = 0
    for attempt in range(2):  # the window is the clock minute: try again if the burst straddled two
        headers = {"Authorization": f"Bearer {issuer.issue(tenant=tenant, roles=['viewer'], sub=f'w{attempt}')}"}
        window = _minute()
        answers = [_status(base + "/v1/inspections", headers=headers) for _ in range(9)]
        answered += answers.count(200)
        if _minute() == window:
            break
    assert answers == [200] * 6 + [429] * 3  # one budget per token, whichever worker answers
    assert _count(httpx.get(base + "/metrics").text, "/v1/inspections", "200") == answered


def _count(text: str, route: str, status: str) -> float:
    pattern = re.compile(r'^http_requests_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$', re.M)
    return sum(float(m["value"]) for m in pattern.finditer(text)
               if f'route="{route}"' in m["labels"] and f'status="{status}"' in m["labels"])


def _minute() -> int:
    return int(time.time() // 60)
