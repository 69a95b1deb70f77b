"""README command 1 for real: the stack starts, loads the demo province, answers, stops, starts again."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from infra import servers
from shared.db import drop_database
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_base() -> int:
    for _ in range(50):
        # Below the kernel's ephemeral range (32768-60999 here): an outgoing connection of any process
        # may take a port there between this check and the service binding it.
        base = random.randrange(20000, 32000, 10)
        if not any(servers.port_open("127.0.0.1", base + i) for i in (0, 1, 2, 3, 4, 101, 102, 103, 104)):
            return base
    raise RuntimeError("no free port range")


def start(env) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen([sys.executable, "infra/stack.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if "Press Ctrl-C" in line:
            return proc, lines
    proc.kill()
    raise AssertionError("the stack did not come up:\n" + "\n".join(lines[-40:]))


def stop(proc) -> list[str]:
    os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return out.splitlines()


def get(url: str, token: str | None = None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read().decode("utf-8"))


def _figures_kept(url: str) -> list[str]:
    with psycopg.connect(url) as conn:  # the admin role: row-level security does not apply
        return [r[0] for r in conn.execute("SELECT figures->>'province' FROM province_figures").fetchall()]


@pytest.mark.slow
def test_stack_starts_with_the_demo_province_and_restarts(pg_admin_url, redis_url):
    base = free_base()
    prefix = f"stack_{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "STACK_PORT_BASE": str(base), "STACK_KAFKA_PORT": str(servers.free_port()),
           "DATABASE_ADMIN_URL": pg_admin_url, "REDIS_URL": redis_url, "STACK_DATABASE_PREFIX": prefix}
    env.pop("KAFKA_BOOTSTRAP", None)
    try:
        proc, lines = start(env)
        text = "\n".join(lines)
        for n in range(1, 8):
            assert f"[{n}/7]" in text
        for name, offset in (("plans", 1), ("inspections", 2), ("notifications", 3), ("analytics", 4)):
            assert f"http://127.0.0.1:{base + offset}/docs" in text
            status, body = get(f"http://127.0.0.1:{base + offset}/readyz")
            assert status == 200 and body["ready"] is True
        # The printed console address answers with the demo sign-in page.
        assert f"Open the console: http://127.0.0.1:{base}" in text
        with urllib.request.urlopen(f"http://127.0.0.1:{base}/login", timeout=10) as page:
            assert page.status == 200 and 'action="/login/demo"' in page.read().decode("utf-8")
        token = (ROOT / ".local" / "token-planner.txt").read_text().strip()
        status, tree = get(f"http://127.0.0.1:{base + 1}/v1/units/tree?as_of=2026-01-01", token)
        assert "Vĩnh Long" in json.dumps(tree, ensure_ascii=False)
        status, before = get(f"http://127.0.0.1:{base + 1}/v1/units/tree?as_of=2025-01-01", token)
        assert "Trà Vinh" in json.dumps(before, ensure_ascii=False)
        # The analytics worker's beat keeps the central view's figures of the demo province ready.
        analytics = make_conninfo(**(conninfo_to_dict(pg_admin_url) | {"dbname": f"{prefix}_analytics"}))
        wait_until(lambda: _figures_kept(analytics), timeout=90, interval=1, message="the central view's figures kept")
        assert "stopped." in stop(proc)

        proc, lines = start(env)  # a second start reuses the databases and the demo data
        status, body = get(f"http://127.0.0.1:{base + 1}/readyz")
        assert status == 200
        assert "stopped." in stop(proc)
    finally:
        for name in ("plans", "inspections", "notifications", "analytics"):
            try:
                drop_database(pg_admin_url, f"{prefix}_{name}")
            except Exception:
                pass
