"""API latency and throughput: recording a finding (inspections) and reading dashboards (analytics).

Each service runs as the stack runs it (``python -m services.<name> api``: uvicorn, one process; the
findings are measured again with ``INSPECTIONS_API_WORKERS=2``, see BENCH_API_WORKERS); the load comes
from bench/load.py in another process. Findings go to started inspections of one
province (each POST is a new finding: a transaction with the finding row and its outbox event);
dashboards are asked for random provinces of a read model filled with generated data.
The baseline is the service's own /healthz (the HTTP stack without database work), same load.
"""
from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from bench import scale
from bench.common import ROOT, Proc, Row, Stack, children, cpu_seconds, fmt_ms, fmt_rate, machine_busy_seconds, percentile, wait_for
from bench.data import PROVINCES
from infra.servers import free_port
from services.analytics.bootstrap import SERVICE as ANALYTICS
from services.inspections.bootstrap import SERVICE as INSPECTIONS
from services.inspections.events import handlers as inspection_handlers
from shared.events import CATALOGUE

TENANT = "vinh-long"
RATE_LIMIT = 10_000_000


def load(spec: dict) -> dict:
    """Run bench/load.py in its own process with ``spec``; returns its result."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump(spec, f, ensure_ascii=False)
    out = subprocess.run([sys.executable, "-m", "bench.load", f.name], cwd=ROOT, capture_output=True, text=True,
                         timeout=600, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                           "BENCH_LOAD_LOOP": os.environ.get("BENCH_LOAD_LOOP", "uvloop")})
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout)


def profile(proc, name: str) -> subprocess.Popen | None:
    """With BENCH_PROFILE=<dir>, sample the server with py-spy during the next load."""
    out = os.environ.get("BENCH_PROFILE")
    spy = Path(sys.executable).parent / "py-spy"
    if not out or not spy.exists():
        return None
    Path(out).mkdir(parents=True, exist_ok=True)
    rate = os.environ.get("BENCH_PROFILE_RATE", "100")  # samples per second
    return subprocess.Popen([str(spy), "record", "--gil", "--rate", rate, "--format", "raw", "-p", str(proc.pid), "-o", f"{out}/{name}.txt"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def serve(stack: Stack, definition, url: str, name: str, workers: int = 1, **settings):
    port = free_port()
    # The rate limit on, as deployed (every request counted in Redis), but high enough that the load
    # generator's few tokens are never refused.
    proc = stack.spawn(name, ["-m", f"services.{definition.name}", "api"],
                       stack.env(definition, url, api_port=port, api_workers=workers, rate_limit_per_minute=RATE_LIMIT,
                                 **settings))
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: _ok(base + "/readyz"), timeout=60, what=f"{name} ready")
    return proc, base


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def seed_inspections(stack: Stack, url: str, n: int) -> list[str]:
    """``n`` scheduled inspections of one province's communes, through the service's own handlers."""
    runtime = INSPECTIONS.runtime(stack.settings(INSPECTIONS, url)).open()
    today = datetime.now(timezone.utc).date()
    handlers = inspection_handlers(runtime)
    ids = []
    try:
        for i in range(n):
            unit, iid = str(uuid.uuid4()), str(uuid.uuid4())
            for event_type, data in (
                ("unit.changed", {"unit_id": unit, "change": "created", "code": f"29{i:03d}", "name": f"UBND xã Long Hồ {i}",
                                  "level": 2, "kind": "commune", "parent_id": None, "valid_from": "2025-07-01",
                                  "valid_to": None, "successor_id": None}),
                ("inspection.scheduled", {"inspection_id": iid, "plan_id": str(uuid.uuid4()), "plan_version": 1,
                                          "year": today.year, "unit_id": unit,
                                          "window_start": (today - timedelta(days=3)).isoformat(),
                                          "window_end": (today + timedelta(days=25)).isoformat(), "form": "on_site",
                                          "team_id": None}),
            ):
                event = CATALOGUE.new_event(event_type, tenant=TENANT, source="/inspection-platform/plans", data=data)
                with runtime.db.tx(TENANT) as conn:
                    handlers[event_type](conn, event)
            ids.append(iid)
    finally:
        runtime.close()
    return ids


def _row(section: str, what: str, result: dict, base: dict, target: str, ok) -> Row:
    lat, blat = result["latencies"], base["latencies"]
    rps, brps = len(lat) / result["elapsed"], len(blat) / base["elapsed"]
    bad = {k: v for k, v in result["statuses"].items() if not k.startswith("2")}
    return Row(section, what + (f" (non-2xx: {bad})" if bad else ""),
               f"{fmt_rate(rps)}, p50 {fmt_ms(percentile(lat, 50))}, p99 {fmt_ms(percentile(lat, 99))}",
               f"/healthz {fmt_rate(brps)}, p99 {fmt_ms(percentile(blat, 99))}", f"{rps / brps:.2f}×", target,
               ok(rps, percentile(lat, 99)) and not bad)


def analytics_workers() -> int:
    """Processes of the analytics API for the dashboards (BENCH_ANALYTICS_WORKERS, default 1)."""
    return int(os.environ.get("BENCH_ANALYTICS_WORKERS", "1"))


def dashboard_rates() -> list[int]:
    """BENCH_DASHBOARD_RATES: comma-separated rates (dashboards/s) the mix is also paced at."""
    return [int(r) for r in os.environ.get("BENCH_DASHBOARD_RATES", "50,100").split(",") if r.strip()]


def load_with_cpu(server: Proc, spec: dict) -> tuple[dict, str]:
    """``load(spec)`` and the CPU milliseconds each request cost: the server (all its processes), the load
    generator, and everything else on the machine (PostgreSQL, Redis)."""
    def server_cpu() -> float:
        return sum(cpu_seconds(p) for p in [server.pid, *children(server.pid)])

    cpu0, busy0 = server_cpu(), machine_busy_seconds()
    result = load(spec)
    cpu, busy, gen = server_cpu() - cpu0, machine_busy_seconds() - busy0, result["cpu"]
    per = 1000 / len(result["latencies"])
    return result, f"API {cpu * per:.1f}, load generator {gen * per:.1f}, everything else (PostgreSQL, Redis) {(busy - cpu - gen) * per:.1f}"


def worker_counts() -> list[int]:
    """API processes to measure the findings with, in turn (BENCH_API_WORKERS, default "1,2")."""
    return [int(n) for n in os.environ.get("BENCH_API_WORKERS", "1,2").split(",") if n.strip()]


def findings(stack: Stack, url: str, inspections: list[str], count: int, concurrency: int, workers: int,
             started: bool) -> tuple[list[Row], dict]:
    """POST findings to one inspections API of ``workers`` processes: closed loop, then paced at 500/s."""
    insp, base_url = serve(stack, INSPECTIONS, url, f"api-inspections-w{workers}", workers)
    member = {"Authorization": f"Bearer {stack.issuer.issue(tenant=TENANT, roles=['team_member'], name='Trần Văn Bình')}"}
    if not started:
        for iid in inspections:
            r = httpx.post(f"{base_url}/v1/inspections/{iid}/start", headers=member, timeout=10)
            if r.status_code != 200:
                raise RuntimeError(f"start failed: {r.status_code} {r.text}")
    finding = {"id": "{uuid}", "criterion_code": "1.2", "severity": "moderate",
               "description": "Tiếp nhận hồ sơ thủ tục hành chính quá hạn so với quy định, không có phiếu hẹn trả"}
    finding_targets = [{"method": "POST", "path": f"/v1/inspections/{iid}/findings", "headers": member, "body": finding}
                       for iid in inspections]
    health = [{"method": "GET", "path": "/healthz"}]
    processes = f"{workers} API process{'es' if workers > 1 else ''}"
    rows: list[Row] = []
    base = load({"base": base_url, "targets": health, "count": count, "concurrency": concurrency, "warmup": 20})
    spy = profile(insp, f"api-inspections-findings-w{workers}") if workers == 1 else None  # py-spy follows one pid
    most, cpu = load_with_cpu(insp, {"base": base_url, "targets": finding_targets, "count": count, "concurrency": concurrency,
                                     "warmup": 20})
    if spy:
        spy.send_signal(signal.SIGINT), spy.wait(30)
    insp.sample()
    rows.append(_row("2 API", f"POST finding, {concurrency} concurrent, as fast as it answers ({processes})", most, base,
                     "≥ 500/s, p99 < 100 ms", lambda rps, p99: rps >= 500 and p99 < 0.1))
    rows.append(Row("2 API", f"CPU ms per finding recorded, in the loop above ({processes})", cpu))
    paced = load({"base": base_url, "targets": finding_targets, "count": count, "concurrency": 64, "rate": 500})
    if os.environ.get("BENCH_LATENCIES"):  # in the order answered: a stall shows as a run of slow ones
        out = Path(os.environ["BENCH_LATENCIES"])
        out.mkdir(parents=True, exist_ok=True)
        (out / f"post-paced-w{workers}.json").write_text(json.dumps(paced["latencies"]))
    insp.sample()
    rows.append(_row("2 API", f"POST finding, paced at 500/s, latency from the scheduled send ({processes})", paced, base,
                     "p99 < 100 ms at 500/s", lambda rps, p99: rps >= 480 and p99 < 0.1))
    insp.stop()
    memory = {f"inspections api ({processes})": insp.peak_mib}
    if workers > 1:
        memory[f"inspections api ({processes}), largest worker"] = insp.child_peak_mib
    return rows, memory


def run(stack: Stack, count: int, dashboard_findings: int, concurrency: int = 16) -> tuple[list[Row], dict]:
    insp_url, an_url = stack.database("inspections"), stack.database("analytics")
    INSPECTIONS.migrate(stack.settings(INSPECTIONS, insp_url))
    ANALYTICS.migrate(stack.settings(ANALYTICS, an_url))
    inspections = seed_inspections(stack, insp_url, 40)
    scale.fill(stack.admin_of(an_url), dashboard_findings)
    rows: list[Row] = []
    memory: dict[str, float] = {}
    for n, workers in enumerate(worker_counts()):
        got, mem = findings(stack, insp_url, inspections, count, concurrency, workers, started=n > 0)
        rows += got
        memory.update(mem)
    an_rows, an_memory = dashboards(stack, an_url, count, dashboard_findings)
    rows += an_rows
    memory.update(an_memory)
    return rows, memory


def dashboard_writes() -> int:
    """BENCH_DASHBOARD_WRITES: findings/s applied in random provinces while the kept answers are measured."""
    return int(os.environ.get("BENCH_DASHBOARD_WRITES", "10"))


def _kept_share(base: str) -> dict[str, float]:
    """analytics_answers_total by outcome, from the API's /metrics."""
    text = httpx.get(base + "/metrics", timeout=10).text
    return {m[1]: float(m[2]) for m in re.finditer(r'^analytics_answers_total\{outcome="(\w+)"\} (\S+)$', text, re.M)}


def dashboards(stack: Stack, an_url: str, count: int, dashboard_findings: int) -> tuple[list[Row], dict]:
    """Dashboards of 34 provinces on the analytics API: every answer computed (nothing kept), then as
    deployed, answers kept while findings are applied meanwhile in random provinces."""
    an_workers = analytics_workers()
    an_processes = f", {an_workers} API processes" if an_workers > 1 else ""
    health = [{"method": "GET", "path": "/healthz"}]
    kinds = ["violations", "repeat-violations", "remediation", "risk", "scorecards", "coverage"]
    targets = [{"method": "GET", "path": f"/v1/dashboards/{name}?year={scale.YEAR}",
                "headers": {"Authorization": f"Bearer {stack.issuer.issue(tenant=p, roles=['viewer'])}"}}
               for p in PROVINCES for name in kinds]
    random.Random(5).shuffle(targets)  # taken round-robin: no connection always asks the same kind
    mix = f"GET dashboards (6 kinds × 34 provinces, {dashboard_findings:,} findings)"
    rows: list[Row] = []

    # Nothing kept: every answer computed, the cost of a question whose province just changed.
    an, an_base = serve(stack, ANALYTICS, an_url, "api-analytics-computed", an_workers, answer_cache_mb=0)
    dash_base = load({"base": an_base, "targets": health, "count": count // 2, "concurrency": 8, "warmup": 20})
    spy = profile(an, "api-analytics-dashboards")
    dash, cpu = load_with_cpu(an, {"base": an_base, "targets": targets, "count": count // 2, "concurrency": 8, "warmup": 34})
    if spy:
        spy.send_signal(signal.SIGINT), spy.wait(30)
    rows.append(_row("2 API", f"{mix}, every answer computed, 8 concurrent{an_processes}", dash, dash_base, "p99 < 50 ms",
                     lambda rps, p99: p99 < 0.05))
    rows.append(Row("2 API", "CPU ms per answer computed, in the mix above", cpu))
    # The same below saturation: readers asking at a rate, every answer still computed.
    for rate in dashboard_rates():
        paced = load({"base": an_base, "targets": targets, "count": max(rate * 20, count // 4), "concurrency": 32, "rate": rate})
        rows.append(_row("2 API", f"{mix}, every answer computed, paced at {rate}/s, latency from the scheduled send"
                         f"{an_processes}", paced, dash_base, "p99 < 50 ms",
                         lambda rps, p99, rate=rate: rps >= rate * 0.96 and p99 < 0.05))
    for name in ("violations", "coverage"):
        t = [target for target in targets if f"/{name}?" in target["path"]]
        alone = load({"base": an_base, "targets": t, "count": max(34, count // 10), "concurrency": 4})
        rows.append(_row("2 API", f"GET dashboard {name} alone, every answer computed, 4 concurrent{an_processes}", alone,
                         dash_base, "p99 < 50 ms", lambda rps, p99: p99 < 0.05))
    an.stop()
    memory = {"analytics api (nothing kept)": an.peak_mib}

    # As deployed: answers kept while their province is unchanged, findings arriving meanwhile, and the
    # analytics worker keeping the central view's figures (a pass every 10 s, on the same 2 cores).
    an, an_base = serve(stack, ANALYTICS, an_url, "api-analytics", an_workers)
    figures = stack.spawn("api-analytics-celery", ["-m", "celery", "-A", ANALYTICS.celery, "worker", "--beat", "--concurrency",
                                                   "2", "--loglevel", "WARNING", "--schedule",
                                                   f"/tmp/celerybeat-bench-{uuid.uuid4().hex[:6]}"], stack.env(ANALYTICS, an_url))
    writer = scale.FindingWriter(stack, an_url, seed=17)
    stop = threading.Event()
    applied = [0]

    def write(per_second: int) -> None:
        t0 = time.perf_counter()
        while not stop.is_set():
            writer.apply([writer.rnd.choice(PROVINCES)], 1)
            applied[0] += 1
            stop.wait(max(0.0, t0 + applied[0] / per_second - time.perf_counter()))

    # Closed loop, 8 readers always waiting, measures the queue at saturation; paced, the latency a
    # reader sees when the dashboards are asked at a given rate (from the scheduled send, so a slow
    # answer delays the count of those behind it).
    closed = {"count": count, "concurrency": 8, "warmup": 34}
    specs = [("8 concurrent", closed, None, 0), ("8 concurrent", closed, None, dashboard_writes())]
    specs += [(f"paced at {rate}/s, latency from the scheduled send", {"count": max(rate * 20, count // 4), "concurrency": 32,
                                                                         "rate": rate}, rate, dashboard_writes()) for rate in dashboard_rates()]
    try:
        load({"base": an_base, "targets": targets, "count": len(targets), "concurrency": 4})  # every answer asked once
        for label, spec, rate, writes in specs:
            before, t0, applied[0] = _kept_share(an_base), time.perf_counter(), 0
            thread = threading.Thread(target=write, args=(writes,), daemon=True) if writes else None
            if thread:
                thread.start()
            result = load({"base": an_base, "targets": targets, **spec})
            stop.set()
            if thread:
                thread.join(30)
            stop.clear()
            elapsed, after = time.perf_counter() - t0, _kept_share(an_base)
            kept, computed = (after.get(k, 0) - before.get(k, 0) for k in ("kept", "computed"))
            meanwhile = f"{applied[0] / elapsed:.0f} findings/s applied meanwhile in random provinces" if writes else \
                "nothing applied meanwhile"
            rows.append(_row("2 API", f"{mix}, answers kept, {label}, {meanwhile} ({kept / max(1, kept + computed):.0%} of "
                             f"answers kept){an_processes}", result, dash_base, "p99 < 50 ms",
                             lambda rps, p99, rate=rate: (rate is None or rps >= rate * 0.96) and p99 < 0.05))
    finally:
        stop.set()
        writer.close()
    an.sample(), figures.sample()
    an.stop(), figures.stop()
    return rows, {**memory, "analytics api": an.peak_mib, "analytics Celery worker (main process)": figures.peak_mib,
                  "analytics Celery worker (largest pool child)": figures.child_peak_mib}
