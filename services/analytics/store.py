"""SQL reads of the read models. Every query names its tenant explicitly (row-level security is the second layer).

The counter reads take one tenant or several (the central view asks every province in one query);
asked for several, their rows carry the tenant.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Sequence

import psycopg
from psycopg.rows import args_row, tuple_row
from psycopg.types.json import Jsonb

from services.analytics.domain import OpenRemediations, Period, UnitInfo, ViolationCount, month_of
from services.analytics.violation_sums import range_bit

Tenants = str | Sequence[str]


def _scope(tenant: Tenants) -> tuple[str, str, str | list[str]]:
    """For one tenant or several: the grouping prefix, the WHERE condition and its parameter. One tenant
    is not a grouping key: sorting on it as well made the larger groupings twice as slow."""
    if isinstance(tenant, str):
        return "", "tenant = %s", tenant
    return "tenant, ", "tenant = ANY(%s)", list(tenant)


def tenants(conn: psycopg.Connection) -> list[str]:
    """Every province with data (for the central level)."""
    rows = conn.execute(
        "SELECT tenant FROM units UNION SELECT tenant FROM inspection_counts UNION SELECT tenant FROM plans ORDER BY 1"
    ).fetchall()
    return [r["tenant"] for r in rows]


def read_model_versions(conn: psycopg.Connection, tenants: Sequence[str]) -> dict[str, int]:
    """How many times each province's read models changed (migration 009); 0 for one never changed."""
    rows = conn.execute("SELECT tenant, sum(changes)::bigint AS n FROM read_model_versions WHERE tenant = ANY(%s) "
                        "GROUP BY tenant", [list(tenants)]).fetchall()
    return {t: 0 for t in tenants} | {r["tenant"]: r["n"] for r in rows}


def province_figures(conn: psycopg.Connection, tenants: Sequence[str], question: str, code: str,
                     ) -> dict[str, tuple[int, dict[str, Any]]]:
    """The central view's figures the worker keeps for ``question`` (computed by ``code``): tenant ->
    (change count computed at, the province's row)."""
    rows = conn.execute("SELECT tenant, version, figures FROM province_figures WHERE tenant = ANY(%s) AND question = %s "
                        "AND code = %s", [list(tenants), question, code]).fetchall()
    return {r["tenant"]: (r["version"], r["figures"]) for r in rows}


def keep_province_figures(conn: psycopg.Connection, question: str, code: str,
                          figures: Sequence[tuple[str, int, dict[str, Any]]]) -> None:
    """Store (tenant, change count, row) for ``question``. A row computed at a higher count, by the same
    code, is never replaced by an older one (two runs of the worker may overlap)."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO province_figures AS f (tenant, question, code, version, figures, computed_at) "
            "VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT (tenant, question) DO UPDATE SET code = EXCLUDED.code, "
            "version = EXCLUDED.version, figures = EXCLUDED.figures, computed_at = EXCLUDED.computed_at "
            "WHERE f.version < EXCLUDED.version OR f.code <> EXCLUDED.code",
            [(t, question, code, version, Jsonb(row)) for t, version, row in figures])


def forget_province_figures(conn: psycopg.Connection, keep_questions: Sequence[str]) -> int:
    """Drop the figures of every other question (yesterday's, last year's): nobody asks them by default."""
    return conn.execute("DELETE FROM province_figures WHERE question <> ALL(%s)", [list(keep_questions)]).rowcount


def count_change_everywhere(conn: psycopg.Connection) -> None:
    """Count a change of every tenant's read models, as the inbox trigger (migration 009) counts one
    event's: for a change made without events (the end of a rebuild)."""
    conn.execute("INSERT INTO read_model_versions AS v (tenant, writer, changes) "
                 "SELECT DISTINCT tenant, pg_backend_pid(), 1 FROM read_model_versions ORDER BY 1 "
                 "ON CONFLICT (tenant, writer) DO UPDATE SET changes = v.changes + 1")


def fold_read_model_versions(conn: psycopg.Connection) -> int:
    """Fold the change counts of database sessions that have ended into one row per province (writer 0):
    every sum stays the same, and the rows stay as many as the live sessions. Returns the rows folded."""
    return conn.execute(
        "WITH gone AS (DELETE FROM read_model_versions WHERE writer <> 0 AND writer NOT IN (SELECT pid FROM pg_stat_activity) "
        "RETURNING tenant, changes), "
        "kept AS (INSERT INTO read_model_versions AS v (tenant, writer, changes) SELECT tenant, 0, sum(changes) FROM gone "
        "GROUP BY tenant ORDER BY tenant ON CONFLICT (tenant, writer) DO UPDATE SET changes = v.changes + EXCLUDED.changes) "
        "SELECT count(*) AS n FROM gone").fetchone()["n"]


def units(conn: psycopg.Connection, tenant: str, as_of: date | None = None, *, contacts: bool = True) -> dict[str, UnitInfo]:
    """The unit tree: latest states, or as of a date each unit's name and parent on that day.

    Lifetime (valid_from/valid_to) and successor always come from the latest state: they are what
    attribution across merges needs.
    """
    return units_by_tenant(conn, [tenant], as_of, contacts=contacts).get(tenant, {})


def units_by_tenant(conn: psycopg.Connection, tenants: Sequence[str], as_of: date | None = None, *,
                    contacts: bool = True) -> dict[str, dict[str, UnitInfo]]:
    """The unit trees of several tenants (see ``units``), tenant -> unit id -> unit; without the heads'
    and deputies' contacts if not asked (decoding thousands of them was a tenth of the central view)."""
    # Tuples, not the connection's dicts: the central view loads every province's tree per question.
    cur = conn.cursor(row_factory=tuple_row)
    rows = cur.execute(
        "SELECT unit_id::text, tenant, code, name, level, kind, parent_id::text, valid_from, valid_to, successor_id::text"
        f"{', contacts' if contacts else ', NULL'} FROM units WHERE tenant = ANY(%s)", [list(tenants)]).fetchall()
    then: dict[str, tuple] = {}
    if as_of is not None:
        then = {r[0]: r[1:] for r in cur.execute(
            "SELECT DISTINCT ON (unit_id) unit_id::text, name, level, kind, parent_id::text FROM unit_versions "
            "WHERE tenant = ANY(%s) AND effective_from <= %s ORDER BY unit_id, effective_from DESC", [list(tenants), as_of])}
    out: dict[str, dict[str, UnitInfo]] = {t: {} for t in tenants}
    for unit_id, tenant, code, name, level, kind, parent_id, valid_from, valid_to, successor_id, people in rows:
        if unit_id in then:
            name, level, kind, parent_id = then[unit_id]
        out[tenant][unit_id] = UnitInfo(unit_id, name, level, kind, parent_id, valid_from, valid_to, successor_id, code,
                                        tuple(people or ()))
    return out


def criteria(conn: psycopg.Connection, tenant: str) -> dict[str, str]:
    """Criterion code -> title, from the published checklists."""
    return {r["code"]: r["title"] for r in conn.execute("SELECT code, title FROM criteria WHERE tenant = %s", [tenant])}


_VIOLATION_DIMS = ("month", "criterion_code", "severity")


def violation_counts(conn: psycopg.Connection, tenant: Tenants, period: Period, dims: tuple[str, ...] = _VIOLATION_DIMS, *,
                     by_unit: bool = True) -> list[ViolationCount]:
    """Violation counters summed in SQL per unit (unless ``by_unit`` is False) and the dimensions asked for.

    Dimensions not asked for come back None (and unit_id "" without ``by_unit``). Merges and the tree
    are applied afterwards in Python, so summing here keeps the rows handed over to about units x the
    dimension asked for, however many months and findings.
    """
    by, where, param = _scope(tenant)
    cols = ([] if not by_unit else ["unit_id"]) + [d for d in _VIOLATION_DIMS if d in dims]
    group = (by + ", ".join(cols)).rstrip(", ")
    # The fields of ViolationCount in order, so each row becomes one without a dict in between.
    select = ", ".join(["unit_id::text" if by_unit else "''", *(d if d in dims else f"NULL::{t}" for d, t in
                                                                  zip(_VIOLATION_DIMS, ("date", "text", "text"))),
                        "sum(n)::int", "tenant" if by else "''"])
    params = [param, period.first, period.last_month]
    with conn.cursor(row_factory=args_row(ViolationCount)) as cur:
        rows = cur.execute(
            f"SELECT {select} FROM violation_counts "
            f"WHERE {where} AND month BETWEEN %s AND %s{' GROUP BY ' + group if group else ''}", params).fetchall()
    return [r for r in rows if r.n]


def repeats_by_owner(conn: psycopg.Connection, tenant: str, period: Period, owners: dict[str, str]) -> list[dict[str, Any]]:
    """Per unit with a criterion broken more than once in the period: ``repeated_criteria``,
    ``repeat_violations`` and ``criteria`` (code -> violations, in code order), counting each unit's
    counters for its owner in ``owners`` (unit -> the unit its records count for; any unit not there
    counts for itself).

    Summed in SQL: the repeat dashboard otherwise took a province's every unit/criterion sum (1,700 rows
    at 200,000 findings) into Python to keep a tenth of them; with the owners passed in, only the
    answer's rows come back, one per unit."""
    rows = conn.execute(
        "SELECT owner AS unit_id, count(*)::int AS repeated_criteria, sum(n)::int AS repeat_violations, "
        'json_object_agg(criterion_code, n ORDER BY criterion_code COLLATE "C") AS criteria '
        "FROM (SELECT coalesce(o.owner, c.unit_id::text) AS owner, c.criterion_code, sum(c.n)::int AS n "
        "FROM violation_counts c LEFT JOIN unnest(%s::uuid[], %s::text[]) AS o(unit_id, owner) ON o.unit_id = c.unit_id "
        "WHERE c.tenant = %s AND c.month BETWEEN %s AND %s GROUP BY 1, 2 HAVING sum(c.n) > 1) per GROUP BY owner",
        [list(owners), list(owners.values()), tenant, period.first, period.last_month]).fetchall()
    return list(rows)


def violation_sums(conn: psycopg.Connection, tenant: Tenants, period: Period, *, repeated_criteria: bool = False,
                   ) -> list[dict[str, Any]]:
    """violations_by_criterion's rows summed per unit, from the per-unit summaries (violation_sums.py): one
    per unit with findings in the period, ``n``, ``serious``, and ``repeats`` 1 if it broke some
    criterion more than once in the period, else 0 (whether, not how many); criterion None.
    With ``repeated_criteria``, ``repeats`` is how many criteria it broke more than once, counted from
    the unit/criterion month masks: a row per pair, as many as the counters' groups, so for one
    province's figures; the headline of every province reads one row per unit and year."""
    by, where, param = _scope(tenant)
    if repeated_criteria:
        mask = (1 << period.month_to) - (1 << (period.month_from - 1))  # the period's months
        repeats = (f"count(*) FILTER (WHERE multi & %s <> 0 OR (months & %s) & ((months & %s) - 1) <> 0) "
                   f"FROM violation_pairs WHERE {where} AND year = %s GROUP BY {by}unit_id")
        args = [mask, mask, mask, param, period.year]
    else:
        repeats = f"get_bit(ranges, %s) FROM violation_repeats WHERE {where} AND year = %s"
        args = [range_bit(period), param, period.year]
    # One grouping over both tables (a join was planned as a probe per unit); a unit with findings
    # in the year but none in the period has no repeat in it either, and is left out.
    rows = conn.execute(
        f"SELECT {by}unit_id::text AS unit_id, NULL::text AS criterion_code, sum(n)::int AS n, sum(serious)::int AS serious, "
        f"max(repeats)::int AS repeats FROM (SELECT {by}unit_id, n, serious, 0 AS repeats FROM violation_unit_counts "
        f"WHERE {where} AND month BETWEEN %s AND %s UNION ALL SELECT {by}unit_id, 0, 0, {repeats}) u "
        f"GROUP BY {by}unit_id HAVING sum(n) > 0", [param, period.first, period.last_month, *args]).fetchall()
    return list(rows)


def violations_by_criterion(conn: psycopg.Connection, tenant: Tenants, period: Period,
                            unit_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Violations per unit and criterion in the period (of ``unit_ids`` only, if given): ``n``,
    ``serious``, and ``repeats`` 1 when the criterion was broken more than once, else 0. What the
    per-unit figures read where records of several units meet under one owner: every unit when they
    are rolled up, the units of a merge otherwise."""
    by, where, param = _scope(tenant)
    only = " AND unit_id = ANY(%s::uuid[])" if unit_ids is not None else ""
    rows = conn.execute(
        f"SELECT {by}unit_id::text AS unit_id, criterion_code, sum(n)::int AS n, "
        f"(coalesce(sum(n) FILTER (WHERE severity = 'serious'), 0))::int AS serious, (sum(n) > 1)::int AS repeats "
        f"FROM violation_counts WHERE {where} AND month BETWEEN %s AND %s{only} GROUP BY {by}unit_id, criterion_code",
        [param, period.first, period.last_month, *([unit_ids] if unit_ids is not None else [])]).fetchall()
    return list(rows)


def inspection_counts(conn: psycopg.Connection, tenant: Tenants, period: Period, by_month: bool = False) -> list[dict[str, Any]]:
    """Planned, done and surprise-on-report inspections per unit (and month if asked), summed in SQL."""
    month = ", month" if by_month else ""
    by, where, param = _scope(tenant)
    rows = conn.execute(
        f"SELECT {by}unit_id::text AS unit_id{month}, sum(planned)::int AS planned, sum(done)::int AS done, "
        f"sum(reports)::int AS reports FROM inspection_counts WHERE {where} AND month BETWEEN %s AND %s "
        f"GROUP BY {by}unit_id{month}", [param, period.first, period.last_month]).fetchall()
    return list(rows)


def dossier_counts(conn: psycopg.Connection, tenant: Tenants, period: Period) -> list[dict[str, Any]]:
    """Dossiers checked and late per unit and field in the period, summed in SQL."""
    by, where, param = _scope(tenant)
    rows = conn.execute(
        f"SELECT {by}unit_id::text AS unit_id, field, sum(checked)::int AS checked, sum(late)::int AS late, "
        f"sum(days_late_sum)::int AS days_late_sum FROM dossier_counts WHERE {where} AND month BETWEEN %s AND %s "
        f"GROUP BY {by}unit_id, field", [param, period.first, period.last_month]).fetchall()
    return list(rows)


def remediation_counts(conn: psycopg.Connection, tenant: Tenants, period: Period,
                       today: date | None = None, by_unit: bool = True) -> list[dict[str, Any]]:
    """Remediations whose deadline falls in the period (the period they answer for), per unit (per
    tenant without ``by_unit``): ``total``, accepted ``on_time`` and ``late`` from the counters; with
    ``today``, ``overdue`` too (open with a deadline before today)."""
    by, where, param = _scope(tenant)
    select, group = (f"{by}unit_id::text AS unit_id", f"{by}unit_id") if by_unit else ("tenant", "tenant")
    this_month = month_of(today) if today else period.first
    # An open remediation of a month before today's is overdue, one of a later month is not; today's
    # month alone needs the day, so its open rows are counted (index remediations_open).
    rows = {(r.get("tenant"), r.get("unit_id")): r for r in conn.execute(
        f"SELECT {select}, sum(total)::int AS total, sum(on_time)::int AS on_time, "
        f"sum(late)::int AS late, coalesce(sum(total - on_time - late) FILTER (WHERE month < %s), 0)::int AS overdue "
        f"FROM remediation_counts WHERE {where} AND month BETWEEN %s AND %s GROUP BY {group}",
        [this_month, param, period.first, period.last_month])}
    if today and period.first <= this_month <= period.last_month:
        for r in conn.execute(
                f"SELECT {select}, count(*)::int AS n FROM remediations WHERE {where} "
                f"AND accepted_on IS NULL AND deadline >= %s AND deadline < %s GROUP BY {group}",
                [param, this_month, today]):
            n = r.pop("n")
            # A row committed between the two statements may be missing from the counters read above.
            row = rows.setdefault((r.get("tenant"), r.get("unit_id")), {**r, "total": n, "on_time": 0, "late": 0, "overdue": 0})
            row["overdue"] += n
    return list(rows.values())


def open_remediations(conn: psycopg.Connection, tenant: str, period: Period, today: date,
                      listed: int | None) -> list[OpenRemediations]:
    """Remediations not accepted yet whose deadline falls in the period, per unit (index remediations_open):
    how many, how many overdue on ``today``, the earliest assignment and overdue deadline, and the
    ``listed`` most overdue (every one with None). Summed in SQL: a province has thousands of them."""
    rows = conn.execute(
        "SELECT unit_id::text AS unit_id, count(*)::int AS open, (count(*) FILTER (WHERE deadline < %(today)s))::int "
        "AS overdue, min(assigned_on) AS first_assigned, min(deadline) FILTER (WHERE deadline < %(today)s) AS first_overdue, "
        "array_agg(remediation_id::text ORDER BY rank) FILTER (WHERE listed) AS ids, "
        "array_agg(deadline ORDER BY rank) FILTER (WHERE listed) AS deadlines "
        # The overdue come first in deadline order (before the deadlines from today on).
        "FROM (SELECT unit_id, remediation_id, deadline, assigned_on, rank, deadline < %(today)s "
        "AND (%(listed)s::int IS NULL OR rank <= %(listed)s::int) AS listed "
        "FROM (SELECT unit_id, remediation_id, deadline, assigned_on, "
        "row_number() OVER (PARTITION BY unit_id ORDER BY deadline, remediation_id) AS rank FROM remediations "
        "WHERE tenant = %(tenant)s AND accepted_on IS NULL AND deadline BETWEEN %(first)s AND %(last)s) ranked) o "
        "GROUP BY unit_id",
        {"tenant": tenant, "first": period.first, "last": period.last_day, "today": today, "listed": listed})
    return [OpenRemediations(r["unit_id"], r["open"], r["overdue"], r["first_assigned"], r["first_overdue"],
                             tuple(zip(r["ids"] or (), r["deadlines"] or ()))) for r in rows]


def plans(conn: psycopg.Connection, tenant: str, year: int) -> list[dict[str, Any]]:
    """The tenant's plans of a year, by decision date."""
    return list(conn.execute("SELECT * FROM plans WHERE tenant = %s AND year = %s ORDER BY decision_date, plan_id",
                             [tenant, year]).fetchall())


def concluded_units(conn: psycopg.Connection, tenant: str, plan_id: str) -> list[str]:
    """Units a plan's concluded inspections reached."""
    rows = conn.execute("SELECT DISTINCT unit_id::text AS u FROM inspections WHERE tenant = %s AND plan_id = %s "
                        "AND concluded_on IS NOT NULL AND unit_id IS NOT NULL", [tenant, plan_id]).fetchall()
    return [r["u"] for r in rows]


def unit_facts(conn: psycopg.Connection, tenant: str, unit_ids: list[str], period: Period) -> dict[str, list[dict]]:
    """The facts of a scorecard: findings, dossier checks, recommendations, assessments, remediations."""
    span = [tenant, unit_ids, period.first, period.last_day]

    def rows(select: str, table: str, day: str, order: str) -> list[dict]:
        return list(conn.execute(f"SELECT {select}, unit_id::text AS unit_id FROM {table} WHERE tenant = %s "
                                 f"AND unit_id = ANY(%s::uuid[]) "
                                 f"AND {day} BETWEEN %s AND %s ORDER BY {day}, {order}", span))

    return {
        "findings": rows("finding_id::text AS id, criterion_code, severity, recorded_on", "findings", "recorded_on", "finding_id"),
        "dossiers": rows("check_id::text AS id, field, late, days_late", "dossier_checks", "received_on", "check_id"),
        "recommendations": rows("recommendation_id::text AS id, kind, official_ref, discipline_level", "recommendations",
                                "concluded_on", "recommendation_id"),
        "assessments": rows("assessment_id::text AS id, official_ref, position, task_execution, processing_time, quality",
                            "head_assessments", "assessed_on", "assessment_id"),
        "remediations": rows("remediation_id::text AS id, deadline, accepted_on, assigned_on", "remediations", "deadline", "remediation_id"),
    }


def recommendation_counts(conn: psycopg.Connection, tenant: str, period: Period) -> dict[str, int]:
    """Recommendations per inspected unit concluded in the period."""
    rows = conn.execute("SELECT unit_id::text AS unit_id, count(*) AS n FROM recommendations WHERE tenant = %s "
                        "AND concluded_on BETWEEN %s AND %s GROUP BY unit_id", [tenant, period.first, period.last_day])
    return {r["unit_id"]: r["n"] for r in rows}


def disciplines(conn: psycopg.Connection, tenant: str, official_refs: list[str], period: Period) -> list[dict[str, Any]]:
    """Disciplinary recommendations naming these officials in the period, whichever unit was inspected."""
    return list(conn.execute(
        "SELECT recommendation_id::text AS id, official_ref, discipline_level FROM recommendations "
        "WHERE tenant = %s AND kind = 'disciplinary' AND official_ref = ANY(%s) AND concluded_on BETWEEN %s AND %s",
        [tenant, official_refs, period.first, period.last_day]))


def log_personal_read(conn: psycopg.Connection, tenant: str, reader: str, unit_id: str, official_refs: list[str],
                      period: str, at) -> None:
    """Record that ``reader`` saw these officials' scorecards (personal data)."""
    conn.execute("INSERT INTO personal_data_reads (tenant, reader, unit_id, official_refs, period, read_at) "
                 "VALUES (%s, %s, %s, %s, %s, %s)", [tenant, reader, unit_id, official_refs, period, at])
