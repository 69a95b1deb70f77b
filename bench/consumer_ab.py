"""What each consumer change gained: the analytics handlers applying the same events through
shared/consumer.py as it was before, with only the first change, and as it is now.

    python -m bench.consumer_ab [--events 20000] [--rounds 3]

The consumer's ``process`` (inbox, handlers, dead letters; one transaction per batch of 500) is timed
in this process on ready-made Kafka messages, so the broker and the relay add no noise; each variant
gets a fresh analytics database, and variants are interleaved round by round.

  before         one savepoint per message; set_config and the inbox insert as two statements
  savepoints     the batch applied without savepoints (redone with them only if a handler fails)
  one statement  ... and set_config folded into the inbox insert (one round trip fewer per message)
  now            ... and payloads checked by the compiled schema first (shared/events/catalogue.py)
  (what-if)      now, with the analytics read models out of the audit trail (not changed: analytics' call)
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
import uuid
from datetime import datetime, timezone
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import stack  # noqa: E402
from bench.data import units_by_province, violations  # noqa: E402
from bench.pipeline import seed_units  # noqa: E402
from services.analytics.bootstrap import SERVICE as ANALYTICS  # noqa: E402
from services.analytics.readmodel import HANDLERS, READ_MODEL_TABLES  # noqa: E402
from shared.consumer import Raw  # noqa: E402
from shared.events import CATALOGUE  # noqa: E402

CHANGE = "38dbf94"  # the commit that changed the consumer
BATCH = 500

ONE_STATEMENT = '''        # One round trip: the settings are made in the FROM clause, before the inbox row and the handler.
        inserted = conn.execute(
            "INSERT INTO processed_events (consumer, event_id, tenant, type) SELECT %s, %s, %s, %s "
            "FROM (SELECT set_config('app.tenant', %s, true) AS t, set_config('app.actor', %s, true) AS a) AS cfg "
            "WHERE cfg.t IS NOT NULL AND cfg.a IS NOT NULL ON CONFLICT DO NOTHING RETURNING 1",
            [self.name, event.id, event.tenant, event.type, event.tenant, f"event:{event.type}:{event.id}"],
        ).fetchone()'''
TWO_STATEMENTS = '''        conn.execute("SELECT set_config('app.tenant', %s, true), set_config('app.actor', %s, true)",
                     [event.tenant, f"event:{event.type}:{event.id}"])
        inserted = conn.execute(
            "INSERT INTO processed_events (consumer, event_id, tenant, type) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            [self.name, event.id, event.tenant, event.type],
        ).fetchone()'''


def variants(tmp: Path) -> dict[str, tuple[type, bool]]:
    """Each variant's EventConsumer class (from its own copy of consumer.py) and whether it has the compiled check."""
    now = (ROOT / "shared" / "consumer.py").read_text(encoding="utf-8")
    before = subprocess.run(["git", "show", f"{CHANGE}^:shared/consumer.py"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    if ONE_STATEMENT not in now:
        raise RuntimeError("shared/consumer.py changed since; update bench/consumer_ab.py")
    out = {}
    for name, text in (("before", before), ("savepoints", now.replace(ONE_STATEMENT, TWO_STATEMENTS)), ("now", now)):
        path = tmp / f"consumer_{name}.py"
        path.write_text(text, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(f"consumer_{name}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        out[name] = module.EventConsumer
    return {"before": (out["before"], False), "savepoints": (out["savepoints"], False),
            "one statement": (out["now"], False), "now": (out["now"], True),
            "now, read models out of the audit trail": (out["now"], True)}


def compiled_check(on: bool) -> None:
    """Switch the catalogue's compiled schema check on or off (off: jsonschema alone, as before)."""
    for et in CATALOGUE._by_schema.values():
        if on:
            et.__dict__.pop("fast_validator", None)  # the cached property compiles it again
        else:
            et.__dict__["fast_validator"] = None


def messages(n: int) -> list[Raw]:
    rnd = random.Random(2)
    units = units_by_province(60)
    out = []
    for i, (tenant, data) in enumerate(violations(n, units, seed=rnd.randrange(1 << 30))):
        e = CATALOGUE.new_event("violation.recorded", tenant=tenant, source="/inspection-platform/inspections", data=data)
        out.append(Raw(CATALOGUE.topic(e.type), i % 6, i, e.subject.encode(), e.value(), e.headers()))
    return out


def apply_all(cls, settings, raws: list[Raw]) -> float:
    consumer = cls(name="analytics.main", service="analytics", settings=settings, handlers=dict(HANDLERS))
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
    with tempfile.TemporaryDirectory(prefix="consumer-ab-") as tmp, stack() as s:
        classes = variants(Path(tmp))
        for _ in range(args.rounds):
            for name, (cls, compiled) in classes.items():
                compiled_check(compiled)
                url = s.database("analytics")
                settings = s.settings(ANALYTICS, url)
                ANALYTICS.migrate(settings)
                seed_units(url, units_by_province(60))
                if "audit" in name:  # what-if: derived tables opt out, as shared/migrations/002_audit.sql intends
                    with psycopg.connect(url, autocommit=True) as conn:
                        for name_ in READ_MODEL_TABLES:
                            conn.execute("SELECT disable_audit(%s)", [name_])
                rates.setdefault(name, []).append(len(raws) / apply_all(cls, settings, raws))
                print(f"{name}: {rates[name][-1]:,.0f}/s", flush=True)
    base = statistics.median(rates["before"])
    labels = {"before": "before", "savepoints": "without a savepoint per message",
              "one statement": "+ settings inside the inbox insert", "now": "+ compiled schema check (now)",
              "now, read models out of the audit trail": "what-if: now, read models out of the audit trail"}
    lines = [f"{args.events:,} `violation.recorded` per variant, median of {args.rounds} interleaved rounds:", "",
             "| consumer | events/s | vs before | every round |", "|---|---|---|---|"]
    for name, r in rates.items():
        lines.append(f"| {labels[name]} | {statistics.median(r):,.0f}/s | {statistics.median(r) / base:.2f}× | "
                     f"{', '.join(f'{x:,.0f}' for x in r)} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
