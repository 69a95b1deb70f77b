"""Violations per unit for the headline figures, kept beside the counters by the findings handler, so
that the central view reads about one row per unit and month instead of one per unit, month,
criterion and severity (823,000 a year at 10 million findings), and stays exact for any months:

* ``violation_unit_counts``: findings and serious findings per unit and month.
* ``violation_pairs``: per unit, criterion and year, the months with a finding (bit m - 1 of
  ``months``) and those with more than one (``multi``).
* ``violation_repeats``: per unit and year, the ranges of months in which the unit broke some
  criterion more than once (bit (a - 1) * 12 + b - 1 of ``ranges`` for months a..b). A criterion
  repeats in a..b when one of those months has more than one finding of it, or two of them have one.

Counts only add, masks only gain bits (OR), so every table is the same in any arrival order; only
findings new to the findings table are counted (the statement's ``new``), so each counts once.
"""
from __future__ import annotations

import psycopg

from services.analytics.domain import Period

# Bit of ``violation_repeats.ranges`` for the months of a period (a period lies within one year).
RANGES = 144


def range_bit(period: Period) -> int:
    """The bit of ``ranges`` saying whether a unit repeated a criterion in the period's months."""
    return (period.month_from - 1) * 12 + period.month_to - 1


# Every range of months a..b of a year: its bit and the mask of its months (the recount tests each
# range; the handler and the migration look them up in month_ranges, which the migration fills so).
_RANGES = ("(SELECT (a - 1) * 12 + b - 1 AS bit, (1 << b) - (1 << (a - 1)) AS mask "
           "FROM generate_series(1, 12) a, generate_series(1, 12) b WHERE a <= b) g")
# The ranges in which a pair (months, multi) repeats: a month of the range with more than one
# finding, or two months of the range with one (x & (x - 1) clears the lowest bit of x).
_REPEATS_IN = "(p.multi & g.mask <> 0 OR (p.months & g.mask) & ((p.months & g.mask) - 1) <> 0)"


# The statements the findings handler runs on ``new`` (the findings just inserted), by CTE name.
# The upserts of masks change a row only when it gains a bit (ON CONFLICT ... WHERE): a pair or a
# unit seen often has all its bits early, and a row not changed is neither written nor returned, so
# ``pairs`` returns only the pairs whose masks moved, and only those are looked at for repeats.
_MULTI = "p.multi | EXCLUDED.multi | (p.months & EXCLUDED.months)"
HANDLER_STATEMENTS = {
    "unit_counted": (
        "INSERT INTO violation_unit_counts AS c (tenant, unit_id, month, n, serious) "
        "SELECT %(tenant)s, unit_id, date_trunc('month', recorded_on)::date, count(*), "
        "count(*) FILTER (WHERE severity = 'serious') FROM new GROUP BY 2, 3 "
        "ON CONFLICT (tenant, month, unit_id) DO UPDATE SET n = c.n + EXCLUDED.n, serious = c.serious + EXCLUDED.serious"),
    "pairs": (
        "INSERT INTO violation_pairs AS p (tenant, year, unit_id, criterion_code, months, multi) "
        "SELECT %(tenant)s, year, unit_id, criterion_code, bit_or(bit), coalesce(bit_or(bit) FILTER (WHERE k > 1), 0) "
        "FROM (SELECT extract(year FROM recorded_on)::int AS year, unit_id, criterion_code, "
        "1 << (extract(month FROM recorded_on)::int - 1) AS bit, count(*) AS k FROM new GROUP BY 1, 2, 3, 4) m "
        "GROUP BY 2, 3, 4 "
        f"ON CONFLICT (tenant, year, unit_id, criterion_code) DO UPDATE SET months = p.months | EXCLUDED.months, multi = {_MULTI} "
        f"WHERE p.months | EXCLUDED.months <> p.months OR {_MULTI} <> p.multi "
        "RETURNING year, unit_id, months, multi"),
    "repeats": (
        "INSERT INTO violation_repeats AS r (tenant, year, unit_id, ranges) "
        # Looked up one by one: a join was planned as two scans of the 4,096 rows for every set.
        "SELECT %(tenant)s, p.year, p.unit_id, bit_or((SELECT holding_one FROM month_ranges WHERE months = p.multi) "
        "| (SELECT holding_two FROM month_ranges WHERE months = p.months)) FROM pairs p GROUP BY 2, 3 "
        "ON CONFLICT (tenant, year, unit_id) DO UPDATE SET ranges = r.ranges | EXCLUDED.ranges "
        "WHERE r.ranges | EXCLUDED.ranges <> r.ranges"),
}


# The same tables summed from the violation counters (which the findings give): what the migration
# and the benchmark's fill insert, and what the tests compare the handler's tables with.
# Table -> (its columns, the SELECT giving them).
_PAIRS = ("SELECT tenant, year, unit_id, criterion_code, bit_or(bit) AS months, "
          "coalesce(bit_or(bit) FILTER (WHERE k > 1), 0) AS multi FROM (SELECT tenant, extract(year FROM month)::int AS year, "
          "unit_id, criterion_code, 1 << (extract(month FROM month)::int - 1) AS bit, sum(n) AS k FROM violation_counts "
          "GROUP BY 1, 2, 3, 4, 5) m GROUP BY 1, 2, 3, 4")
RECOUNT = {
    "violation_unit_counts": ("tenant, unit_id, month, n, serious", (
        "SELECT tenant, unit_id, month, sum(n)::int AS n, (coalesce(sum(n) FILTER (WHERE severity = 'serious'), 0))::int "
        "AS serious FROM violation_counts GROUP BY 1, 2, 3")),
    "violation_pairs": ("tenant, year, unit_id, criterion_code, months, multi", _PAIRS),
    "violation_repeats": ("tenant, year, unit_id, ranges", (
        f"SELECT p.tenant, p.year, p.unit_id, bit_or(B'1'::bit({RANGES}) >> g.bit) AS ranges "
        f"FROM ({_PAIRS}) p, {_RANGES} WHERE {_REPEATS_IN} GROUP BY 1, 2, 3")),
}


def recount(conn: psycopg.Connection) -> None:
    """Make the three tables again from the counters, every tenant (``app.tenant`` '*'): the end of a
    rebuild, whose handlers leave them out (readmodel.REBUILD_HANDLERS)."""
    # No finding is counted meanwhile (a live consumer waits at its counter upsert), so the sums are
    # those of the counters as they stand; readers go on reading the old sums until the commit.
    conn.execute("LOCK TABLE violation_counts IN SHARE MODE")
    for table in RECOUNT:
        conn.execute(f"DELETE FROM {table}")
    for table, (columns, select) in RECOUNT.items():
        conn.execute(f"INSERT INTO {table} ({columns}) {select}")
