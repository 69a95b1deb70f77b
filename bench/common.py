"""What every benchmark shares: a private stack (Tansu, databases, Redis), service processes, tables.

Benchmarks start their own broker and Redis on free ports and their own databases on the machine's
PostgreSQL (or an embedded one), exactly as the local stack does, and remove what they made.
"""
from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infra import servers  # noqa: E402
from shared.auth import LocalIssuer  # noqa: E402
from shared.db import drop_database, provision  # noqa: E402

LOGS = ROOT / ".local" / "bench-logs"


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``; 0 for an empty list."""
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of a live process, in MiB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_busy_seconds() -> float:
    """CPU time all cores spent on anything but idle and I/O wait, so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def own_peak_rss_mib() -> float:
    return peak_rss_mib(os.getpid())


@dataclass
class Proc:
    """A service process (``python -m services.<name> <cmd>``) with its environment and log."""
    name: str
    argv: list[str]
    env: dict[str, str]
    popen: subprocess.Popen | None = None
    peak_mib: float = 0.0
    child_peak_mib: float = 0.0  # the largest child (Celery's pool processes)

    def start(self) -> "Proc":
        LOGS.mkdir(parents=True, exist_ok=True)
        log = open(LOGS / f"{self.name}.log", "ab")
        self.popen = subprocess.Popen([sys.executable, *self.argv], cwd=ROOT, env={**os.environ, **self.env,
                                      "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("BENCH_PYTHONPATH"), str(ROOT)]))}, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def sample(self) -> float:
        """Read and remember the peak RSS so far (the kernel keeps the high-water mark), and its children's."""
        if self.popen is not None and self.popen.poll() is None:
            self.peak_mib = max(self.peak_mib, peak_rss_mib(self.popen.pid))
            for child in children(self.popen.pid):
                self.child_peak_mib = max(self.child_peak_mib, peak_rss_mib(child))
        return self.peak_mib

    def kill9(self) -> None:
        """SIGKILL the process and its children (its own session), like a container dying."""
        if self.popen is not None and self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(10)

    def restart(self) -> "Proc":
        self.kill9()
        return self.start()

    def stop(self) -> None:
        self.sample()
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.kill9()


@dataclass
class Stack:
    """Broker, PostgreSQL, Redis and a token issuer for one benchmark run."""
    broker: servers.Tansu
    admin_url: str
    redis: servers.LocalRedis
    issuer: LocalIssuer
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    databases: list[str] = field(default_factory=list)
    procs: list[Proc] = field(default_factory=list)
    pg_handle: object | None = None

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    def database(self, service: str) -> str:
        """A fresh database owned by the service's non-superuser role (row-level security applies)."""
        name = f"bench_{service}_{self.run_id}_{len(self.databases)}"
        self.databases.append(name)
        return provision(self.admin_url, name, f"svc_{service}")

    def admin_of(self, url: str) -> str:
        """The superuser URL of the database at ``url`` (COPY is refused under row-level security)."""
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        params = conninfo_to_dict(self.admin_url)
        params["dbname"] = conninfo_to_dict(url)["dbname"]
        return make_conninfo(**params)

    def settings(self, definition, url: str, **extra: Any):
        """Settings object for ``definition`` as the harness builds them (prefix-free)."""
        return definition.settings_cls(database_url=url, kafka_bootstrap=self.bootstrap, redis_url=self.redis.url,
                                       topic_prefix=f"b{self.run_id}.", jwks=self.issuer.jwks(),
                                       jwt_issuer=self.issuer.issuer, jwt_audience=self.issuer.audience,
                                       rate_limit_per_minute=0, **extra)

    def env(self, definition, url: str, **extra: Any) -> dict[str, str]:
        """The same settings as ``<NAME>_*`` environment variables for a service process."""
        p = definition.name.upper() + "_"
        values = {"DATABASE_URL": url, "KAFKA_BOOTSTRAP": self.bootstrap, "REDIS_URL": self.redis.url,
                  "TOPIC_PREFIX": f"b{self.run_id}.", "JWKS": self.issuer.jwks(), "JWT_ISSUER": self.issuer.issuer,
                  "JWT_AUDIENCE": self.issuer.audience, "RATE_LIMIT_PER_MINUTE": "0", "LOG_LEVEL": "WARNING",
                  **{k.upper(): str(v) for k, v in extra.items()}}
        return {p + k: v for k, v in values.items()}

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(name, argv, env).start()
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            proc.stop()
        self.broker.stop()
        self.redis.stop()
        for name in self.databases:
            try:
                drop_database(self.admin_url, name)
            except Exception:
                pass
        servers.stop_quietly(self.pg_handle)


@contextmanager
def stack() -> Iterator[Stack]:
    """Start a private broker and Redis; PostgreSQL as the test suite finds it."""
    admin_url, pg_handle = servers.postgres_admin_url()
    s = Stack(servers.Tansu().start(), admin_url, servers.LocalRedis().start(), LocalIssuer.generate(), pg_handle=pg_handle)
    try:
        yield s
    finally:
        s.close()


def wait_for(probe, *, timeout: float, interval: float = 0.05, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what or probe}")


@dataclass
class Row:
    """One line of a result table: what, the figure, its baseline, the target."""
    section: str
    what: str
    value: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    ok: bool | None = None


def table(rows: list[Row]) -> str:
    """Markdown table of the results (printed, and pasted into the README)."""
    head = ["section", "measure", "figure", "baseline (same run)", "ratio", "target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        met = "" if r.ok is None else ("yes" if r.ok else "**no**")
        lines.append("| " + " | ".join([r.section, r.what, r.value, r.baseline, r.ratio, r.target, met]) + " |")
    return "\n".join(lines)


def fmt_rate(n: float) -> str:
    return f"{n:,.0f}/s"


def fmt_ms(s: float) -> str:
    return f"{s * 1000:.1f} ms"


def summary(latencies: list[float]) -> dict[str, float]:
    return {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
            "mean": statistics.fmean(latencies) if latencies else 0.0}


def dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
