"""What the set-based consumer gained: the analytics handlers applying the same events through
shared/consumer.py and services/analytics/readmodel.py as they were before (one event at a time) and as
they are now (the inbox rows of a batch in one statement, a run of findings in one statement).

    python -m bench.consumer_ab [--events 20000] [--rounds 3]

The consumer's ``process`` (inbox, handlers, dead letters; one transaction per batch of 500) is timed
in this process on ready-made Kafka messages, so the broker and the relay add no noise; each variant
gets a fresh analytics database, and variants are interleaved round by round.

  per event   commit 30b0d01: one inbox insert and the handler's statements per event (the figures of
              the earlier changes, savepoints, settings in the inbox insert, compiled schema, are in the README)
  set-based   now: one inbox insert per batch, one statement per run of findings of a tenant
"""
from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import stack  # noqa: E402
from bench.data import units_by_province, violations  # noqa: E402
from bench.pipeline import seed_units  # noqa: E402
from services.analytics.bootstrap import SERVICE as ANALYTICS  # noqa: E402
from shared.consumer import EventConsumer, Raw  # noqa: E402
from shared.events import CATALOGUE  # noqa: E402
from services.analytics.readmodel import HANDLERS  # noqa: E402

BEFORE = "30b0d01"  # the last commit with the per-event consumer and handlers
BATCH = 500


def _load(name: str, text: str):
    path = Path(tempfile.mkdtemp(prefix="consumer-ab-")) / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def variants() -> dict[str, tuple[type, dict]]:
    """Each variant's EventConsumer class and handlers."""
    def old(path: str) -> str:
        return subprocess.run(["git", "show", f"{BEFORE}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    consumer = _load("consumer_per_event", old("shared/consumer.py"))
    readmodel = _load("readmodel_per_event", old("services/analytics/readmodel.py"))
    return {"per event": (consumer.EventConsumer, dict(readmodel.HANDLERS)), "set-based": (EventConsumer, dict(HANDLERS))}


def messages(n: int) -> list[Raw]:
    rnd = random.Random(2)
    units = units_by_province(60)
    out = []
    for i, (tenant, data) in enumerate(violations(n, units, seed=rnd.randrange(1 << 30))):
        e = CATALOGUE.new_event("violation.recorded", tenant=tenant, source="/inspection-platform/inspections", data=data)
        out.append(Raw(CATALOGUE.topic(e.type), i % 6, i, e.subject.encode(), e.value(), e.headers()))
    return out


def apply_all(cls, handlers: dict, settings, raws: list[Raw]) -> float:
    consumer = cls(name="analytics.main", service="analytics", settings=settings, handlers=handlers)
    with psycopg.connect(settings.database_url, autocommit=True, row_factory=dict_row) as conn:
        t0 = time.perf_counter()
        for i in range(0, len(raws), BATCH):
            dead = consumer.process(conn, raws[i:i + BATCH])
            assert not dead, dead[:1]
        elapsed = time.perf_counter() - t0
        conn.execute("SELECT set_config('app.tenant', '*', false)")
        assert conn.execute("SELECT count(*) AS n FROM findings").fetchone()["n"] == len(raws)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.consumer_ab")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", help="also write the table (markdown) to this file")
    args = parser.parse_args(argv)
    raws = messages(args.events)
    rates: dict[str, list[float]] = {}
    with stack() as s:
        classes = variants()
        for _ in range(args.rounds):
            for name, (cls, handlers) in classes.items():
                url = s.database("analytics")
                settings = s.settings(ANALYTICS, url)
                ANALYTICS.migrate(settings)
                seed_units(url, units_by_province(60))
                rates.setdefault(name, []).append(len(raws) / apply_all(cls, handlers, settings, raws))
                print(f"{name}: {rates[name][-1]:,.0f}/s", flush=True)
    base = statistics.median(rates["per event"])
    lines = [f"{args.events:,} `violation.recorded` per variant, median of {args.rounds} interleaved rounds:", "",
             "| consumer | events/s | vs per event | every round |", "|---|---|---|---|"]
    for name, r in rates.items():
        lines.append(f"| {name} | {statistics.median(r):,.0f}/s | {statistics.median(r) / base:.2f}× | "
                     f"{', '.join(f'{x:,.0f}' for x in r)} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
