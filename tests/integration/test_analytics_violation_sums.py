"""Violations per unit for the headline figures (violation_sums.py): the same in any arrival order, each
finding once, equal to a recount of the counters (which tests every range of months where the handler
looks them up) and after a rebuild (which makes them at its end); the headline figures exact for
every range of months, across a merge, in the current tree and as of a date before it; and the criteria
each unit broke more than once, listed and counted by the per-unit dashboards, exact the same way."""
from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import replace
from datetime import date

from services.analytics import rebuild, store
from services.analytics.bootstrap import SERVICE as ANALYTICS
from services.analytics.readmodel import HANDLERS, REBUILD_HANDLERS
from services.analytics.violation_sums import RECOUNT
from shared.consumer import Raw
from shared.events import CATALOGUE

YEAR = 2025


def ev(event_type, tenant, data):
    return CATALOGUE.new_event(event_type, tenant=tenant, source="/inspection-platform/test", data=data)


def apply(svc, events, rebuilding: bool = False):
    """Run events through the live consumer's applier, or the rebuild's (consecutive findings of a
    province as one set)."""
    raws = [Raw(CATALOGUE.topic(e.type), 0, i, CATALOGUE.key(e).encode(), e.value(), e.headers()) for i, e in enumerate(events)]
    applier = rebuild._applier(svc.runtime, REBUILD_HANDLERS if rebuilding else HANDLERS)
    with svc.runtime.db.pool.connection() as conn:
        return [reason for _raw, reason in applier.process(conn, raws)]


def province(tenant: str, rng: random.Random) -> tuple[dict, list, list]:
    """Commune A merged into C on 1 July 2025, and B: units, their events, and the findings as
    (unit, criterion, month, severity)."""
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    units = {"A": a, "B": b, "C": c}

    def unit(unit_id, name, valid_to=None, successor=None):
        return ev("unit.changed", tenant, {"unit_id": unit_id, "change": "created", "name": name, "level": 2, "kind": "commune",
                                           "parent_id": None, "valid_from": "2020-01-01", "valid_to": valid_to,
                                           "successor_id": successor})

    events = [unit(a, "Xã A", "2025-06-30", c), unit(b, "Xã B"), unit(c, "Xã C")]
    findings = [("A", "X", 3), ("C", "X", 8),            # one each: a repeat of C only once A counts for C
                ("B", "Y", 2), ("B", "Y", 5),            # two months
                ("B", "Z", 7), ("B", "Z", 7),            # twice in one month
                ("C", "W", 9), ("C", "W", 9), ("C", "W", 11), ("A", "V", 1), ("B", "V", 12)]
    findings += [(rng.choice("ABC"), rng.choice("XYZWV"), rng.randrange(1, 13)) for _ in range(25)]
    facts = []
    insp = str(uuid.uuid4())
    for name, code, month in findings:
        severity = rng.choice(["minor", "moderate", "serious"])
        facts.append((name, code, month, severity))
        events.append(ev("violation.recorded", tenant, {
            "finding_id": str(uuid.uuid4()), "inspection_id": insp, "unit_id": units[name], "plan_id": None,
            "criterion_code": code, "severity": severity, "description": "Vi phạm", "officials_count": 1,
            "recorded_by": "Đặng Văn Lâm", "recorded_at": f"{YEAR}-{month:02d}-{rng.randrange(1, 28):02d}T10:00:00+07:00"}))
    return units, events, facts


def sets_of(events: list, size: int) -> list[list]:
    return [events[i:i + size] for i in range(0, len(events), size)]


def tables(conn, tenant) -> dict:
    """The three tables as the handler left them, after checking them against the recount of the counters."""
    out = {}
    for table, (columns, select) in RECOUNT.items():
        kept = sorted(tuple(r.values()) for r in conn.execute(f"SELECT {columns} FROM {table} WHERE tenant = %s", [tenant]))
        recount = sorted(tuple(r.values()) for r in conn.execute(f"SELECT {columns} FROM ({select}) c WHERE tenant = %s", [tenant]))
        assert kept == recount, table
        out[table] = kept
    return out


def per_pair(facts, first: int, last: int, merged: bool) -> Counter:
    """Violations per (unit, criterion) in months first..last; A's count for C in the current tree."""
    return Counter(("C" if merged and name == "A" else name, code) for name, code, month, _s in facts if first <= month <= last)


def expected(facts, first: int, last: int, merged: bool) -> tuple[int, int]:
    """(violations, units with a criterion broken more than once) in months first..last."""
    per = per_pair(facts, first, last, merged)
    return sum(per.values()), len({unit for (unit, _code), n in per.items() if n > 1})


def expected_repeats(facts, units: dict, first: int, last: int, merged: bool) -> dict[str, dict[str, int]]:
    """Unit id -> {criterion: violations} of the criteria it broke more than once in months first..last,
    in criterion order."""
    out: dict[str, dict[str, int]] = {}
    for (name, code), n in sorted(per_pair(facts, first, last, merged).items()):
        if n > 1:
            out.setdefault(units[name], {})[code] = n
    return out


def test_sums_are_the_same_in_any_order_once_each_and_the_headline_figures_exact_for_any_months(service_harness, tenant):
    svc = service_harness(ANALYTICS)
    rng = random.Random(11)
    sent, facts, ids = {}, {}, {}
    orders = {"one set": lambda e: [e], "one at a time, reversed": lambda e: [[x] for x in reversed(e)],
              "shuffled in sets of 3": lambda e: sets_of(rng.sample(e, len(e)), 3)}
    for i, (name, order) in enumerate(orders.items()):
        t = f"{tenant}-{i}"
        ids[t], events, facts[t] = province(t, rng)
        sent[t] = events
        for part in order(events[3:]):
            assert apply(svc, part) == [], name
        assert apply(svc, events[:3]) == []  # the units (and the merge) last
    with svc.runtime.db.tx("*") as conn:
        before = {t: tables(conn, t) for t in sent}
    shapes = {t: [len(rows) for rows in v.values()] for t, v in before.items()}
    assert all(n > 0 for sizes in shapes.values() for n in sizes), shapes

    # Every finding again under a new event id: nothing moves.
    assert apply(svc, [replace(e, id=str(uuid.uuid4())) for events in sent.values() for e in events[3:]]) == []
    with svc.runtime.db.tx("*") as conn:
        assert {t: tables(conn, t) for t in sent} == before

    central = svc.auth("*", "central_viewer")
    t = next(iter(sent))
    for first in range(1, 13):
        for last in range(first, 13):
            params = {"year": YEAR, "month_from": first, "month_to": last}
            side = {r["tenant"]: r for r in svc.client.get("/v1/dashboards/provinces", params=params, headers=central).json()["rows"]}
            for p, f in facts.items():
                assert (side[p]["violations"], side[p]["units_with_repeats"]) == expected(f, first, last, merged=True), (p, params)
            h = svc.auth(t, "viewer")
            for as_of, merged in ((None, True), ("2025-06-01", False)):
                yoy = {r["metric"]: r["this_period"] for r in svc.client.get(
                    "/v1/dashboards/year-over-year", params={**params, **({"as_of": as_of} if as_of else {})}, headers=h).json()["rows"]}
                assert (yoy["violations"], yoy["units_with_repeats"]) == expected(facts[t], first, last, merged), (params, as_of)
                # The criteria each unit broke more than once: listed (repeat violations), and counted by
                # the risk ranking and the scorecards (from the per-unit sums, per criterion for A and C).
                want = expected_repeats(facts[t], ids[t], first, last, merged)
                asked = {**params, **({"as_of": as_of} if as_of else {})}
                repeats = svc.client.get("/v1/dashboards/repeat-violations", params=asked, headers=h).json()["rows"]
                assert {r["unit_id"]: list(r["criteria"].items()) for r in repeats} == \
                    {u: list(codes.items()) for u, codes in want.items()}, (params, as_of)  # criteria in code order
                for name in ("risk", "scorecards"):
                    rows = svc.client.get(f"/v1/dashboards/{name}", params=asked, headers=h).json()["rows"]
                    got = {r["unit_id"]: r["repeated_criteria"] for r in rows if r["repeated_criteria"]}
                    assert got == {u: len(codes) for u, codes in want.items()}, (name, params, as_of)

    # A rebuild empties the tables with the findings and replays (every province shuffled together)
    # with handlers that leave the sums out, then makes them from the counters at its end.
    rebuild.reset(svc.runtime)
    with svc.runtime.db.tx("*") as conn:
        assert not any(conn.execute(f"SELECT 1 FROM {table}").fetchone() for table in RECOUNT)
    everything = [e for events in sent.values() for e in events]
    assert apply(svc, random.Random(3).sample(everything, len(everything)), rebuilding=True) == []
    with svc.runtime.db.tx("*") as conn:
        assert conn.execute("SELECT count(*) AS n FROM violation_counts").fetchone()["n"] > 0
        assert not any(conn.execute(f"SELECT 1 FROM {table}").fetchone() for table in RECOUNT)
        versions = store.read_model_versions(conn, list(sent))
    rebuild.finish(svc.runtime)
    with svc.runtime.db.tx("*") as conn:
        assert {t: tables(conn, t) for t in sent} == before
        # Every province counts a change: figures kept from the sums before are not served again.
        after = store.read_model_versions(conn, list(sent))
    assert all(after[t] > versions[t] for t in sent), (versions, after)
