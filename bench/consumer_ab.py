"""What each consumer change gained: the pipeline benchmark with shared/consumer.py as it was before,
with only the first change, and as it is now (the consumer processes import an overlay of shared/).

    python -m bench.consumer_ab [--events 20000] [--rounds 2]

Variants, interleaved round by round so a noisy machine hurts each alike:
  before      one savepoint per message; set_config and the inbox insert as two statements
  savepoints  the batch applied without savepoints (redone with them only if a handler fails)
  now         ... and set_config folded into the inbox insert (one round trip fewer per message)
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import pipeline  # noqa: E402
from bench.common import Row, stack, table  # noqa: E402

CHANGE = "38dbf94"  # the commit that changed the consumer

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


def overlays(base: Path) -> dict[str, str | None]:
    """Directories to put before the repository on PYTHONPATH, one per variant (None: as it is)."""
    now = (ROOT / "shared" / "consumer.py").read_text(encoding="utf-8")
    before = subprocess.run(["git", "show", f"{CHANGE}^:shared/consumer.py"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    if ONE_STATEMENT not in now:
        raise RuntimeError("shared/consumer.py changed since; update bench/consumer_ab.py")
    out: dict[str, str | None] = {}
    for name, text in (("before", before), ("savepoints", now.replace(ONE_STATEMENT, TWO_STATEMENTS))):
        target = base / name
        shutil.copytree(ROOT / "shared", target / "shared", ignore=shutil.ignore_patterns("__pycache__"))
        (target / "shared" / "consumer.py").write_text(text, encoding="utf-8")
        out[name] = str(target)
    out["now"] = None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.consumer_ab")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    rates: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="consumer-ab-") as tmp:
        variants = overlays(Path(tmp))
        for _ in range(args.rounds):
            for name, path in variants.items():
                if path:
                    os.environ["BENCH_PYTHONPATH"] = path
                else:
                    os.environ.pop("BENCH_PYTHONPATH", None)
                with stack() as s:
                    rows, _mem = pipeline.run(s, args.events)
                rates.setdefault(name, []).append(float(rows[0].value.rstrip("/s").replace(",", "")))
                print(name, rates[name][-1], flush=True)
    base = statistics.median(rates["before"])
    out = [Row("1 pipeline", f"consumer {name}: drain of {args.events:,} events, median of {args.rounds}",
               f"{statistics.median(r):,.0f}/s", f"before {base:,.0f}/s", f"{statistics.median(r) / base:.2f}×")
           for name, r in rates.items()]
    print(table(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
