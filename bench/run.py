"""Run every benchmark and print one table (and the peak memory of every service process).

    python -m bench.run            # the sizes in the README
    python -m bench.run --quick    # small sizes: a minute or two, to check the scripts work
    python -m bench.run --only pipeline,scale --out bench/last-run.md

Each benchmark starts its own broker (Tansu), Redis and databases, as the local stack does, and removes
them afterwards. Figures depend on the machine and on what else runs on it: run it on a quiet machine.
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import signal
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import api, e2e, pipeline, scale  # noqa: E402
from bench.common import Row, own_peak_rss_mib, stack, table  # noqa: E402

SIZES = {
    "full": {"pipeline": 20_000, "api": 3_000, "api_findings": 200_000, "e2e": 400, "scale": [1_000_000],
             "rounds": 200, "rebuild": 1_000_000},
    "quick": {"pipeline": 2_000, "api": 300, "api_findings": 20_000, "e2e": 40, "scale": [50_000],
              "rounds": 5, "rebuild": 5_000},
}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")))
    load = os.getloadavg()
    return (f"{os.cpu_count()} cores ({cpu}), {mem / 1024 / 1024:.0f} GiB, Python {platform.python_version()}, "
            f"{platform.platform()}; load average at start {load[0]:.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the scripts")
    parser.add_argument("--only", default="pipeline,pipeline2,api,e2e,scale",
                        help="comma-separated: pipeline,pipeline2 (two consumer processes),api,e2e,scale")
    parser.add_argument("--scale", help="comma-separated numbers of findings for the scale run (e.g. 1000000,10000000)")
    parser.add_argument("--rebuild", type=int, help="events to rebuild the read models from")
    parser.add_argument("--out", help="also write the table (markdown) to this file")
    args = parser.parse_args(argv)
    # A terminated run still stops its broker, Redis and service processes and drops its databases.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logging.basicConfig(level=logging.WARNING)
    size = dict(SIZES["quick" if args.quick else "full"])
    if args.scale:
        size["scale"] = [int(x) for x in args.scale.split(",") if int(x)]  # 0: the rebuild alone
    if args.rebuild is not None:
        size["rebuild"] = args.rebuild
    only = set(args.only.split(","))
    given = list(sys.argv[1:] if argv is None else argv)
    if "--out" in given:  # where the table went is not part of what was measured
        del given[given.index("--out"):given.index("--out") + 2]
    command = " ".join(["python -m bench.run", *given])
    header = f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}; `{command}`"
    print(header, flush=True)
    rows: list[Row] = []
    memory: dict[str, float] = {}
    started = time.perf_counter()
    steps = [
        ("pipeline", lambda s: pipeline.run(s, size["pipeline"])),
        ("pipeline2", lambda s: (pipeline.run(s, size["pipeline"], n_consumers=2)[0][:2], {})),
        ("api", lambda s: api.run(s, size["api"], size["api_findings"])),
        ("e2e", lambda s: e2e.run(s, size["e2e"])),
        ("scale", lambda s: (scale.run(s, size["scale"], size["rounds"], size["rebuild"]), {})),
    ]
    for name, step in steps:
        if name not in only:
            continue
        t0 = time.perf_counter()
        try:
            with stack() as s:
                got, mem = step(s)
        except Exception as exc:  # one failing benchmark still leaves the others' figures
            logging.exception("benchmark %s failed", name)
            got, mem = [Row(name, "failed", f"{type(exc).__name__}: {str(exc)[:200]}", ok=False)], {}
        rows.extend(got)
        memory.update(mem)
        print(table(got), f"\n({name}: {time.perf_counter() - t0:.0f} s)\n", flush=True)
    memory["benchmark driver (writer, scale queries, rebuild)"] = own_peak_rss_mib()
    for proc, mib in memory.items():
        rows.append(Row("5 memory", f"peak RSS: {proc}", f"{mib:.0f} MiB"))
    text = f"{header}\n\n{table(rows)}\n\nTotal {time.perf_counter() - started:.0f} s.\n"
    print("\n" + text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
