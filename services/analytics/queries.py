"""The questions the dashboards ask: each reads pre-aggregated counters and returns an Answer.

An Answer is a table (columns with Vietnamese headers, rows) plus details; the same Answer becomes
JSON, CSV, XLSX, an SVG chart, and a section of the annual report.
"""
from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable

import psycopg

from services.analytics import store
from services.analytics.domain import (
    OVERDUE_LISTED, Assessment, Discipline, OpenRemediations, Period, Remediation, UnitInfo, ViolationCount, attribute,
    combined_summary, group_violations, open_summary, rank_by_risk, rate, ratio, remediation_summary, remediation_totals,
    repeat_violations, score_official, unit_label, unit_level, units_existing,
)
from services.analytics.kept_answers import KeptAnswers
from shared.coverage import CoverageRule, Unit, ancestor_at, evaluate


@dataclass(frozen=True)
class Filters:
    """What every question is asked with (hashable: the central view keeps answers per question)."""
    period: Period
    today: date
    as_of: date | None = None       # None: the current unit tree; a date: the tree valid on that day
    level: int | None = None        # only units of this level of the tree
    group_by: str | None = None
    rollup: int | None = None       # count each unit under its ancestor at this level (e.g. communes under districts)


@dataclass
class Answer:
    title: str
    columns: list[tuple[str, str]]          # (key, header)
    rows: list[dict[str, Any]]
    chart: tuple[str, list[str]] | None = None  # (label key, value keys) for the SVG chart
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The answer as the JSON body of the API."""
        return {"title": self.title, "columns": [{"key": k, "header": h} for k, h in self.columns],
                "rows": self.rows, **self.details}


class Batch:
    """Store reads asked once for many tenants (grouped by tenant in SQL) and handed out per tenant, so
    the central view costs one query per read model instead of one per province."""

    def __init__(self, conn: psycopg.Connection, tenants: list[str]):
        self.conn, self.tenants = conn, tenants
        self._rows: dict[tuple, dict[str, list]] = {}

    def read(self, tenant: str, query: Callable[..., list], *args: Any, **kwargs: Any) -> list:
        key = (query, args, tuple(sorted(kwargs.items())))
        if key not in self._rows:
            per: dict[str, list] = defaultdict(list)
            for r in query(self.conn, self.tenants, *args, **kwargs):
                per[r["tenant"] if isinstance(r, dict) else r.tenant].append(r)
            self._rows[key] = per
        return self._rows[key].get(tenant, [])


class Context:
    """One tenant's unit tree, loaded once per request, and the attribution the filters ask for."""

    def __init__(self, conn: psycopg.Connection, tenant: str, filters: Filters, *,
                 units: dict[str, UnitInfo] | None = None, batch: Batch | None = None, contacts: bool = False):
        self.conn, self.tenant, self.f = conn, tenant, filters
        # Heads' and deputies' contacts only if asked: only a unit's scorecard with its officials shows
        # them, and decoding them was a sixth of a computed dashboard's Python time.
        self.units: dict[str, UnitInfo] = (store.units(conn, tenant, filters.as_of, contacts=contacts)
                                           if units is None else units)
        self._batch = batch
        self._owners: dict[str, str] = {}

    def read(self, query: Callable[..., list], *args: Any, **kwargs: Any) -> list:
        """A store read (``query(conn, tenant, *args)``) for this tenant, or its part of the batch's."""
        if self._batch is None:
            return query(self.conn, self.tenant, *args, **kwargs)
        return self._batch.read(self.tenant, query, *args, **kwargs)

    def owner(self, unit_id: str) -> str:
        """The unit a record counts for: attribution across merges, then the roll-up level if asked."""
        unit = self._owners.get(unit_id)
        if unit is None:
            unit = attribute(self.units, unit_id, self.f.as_of)
            if self.f.rollup is not None:
                unit = ancestor_at(self.units, unit, self.f.rollup) or unit
            self._owners[unit_id] = unit
        return unit

    def owners(self) -> dict[str, str]:
        """Every unit of the tree whose records count for another unit, and that unit (for SQL to sum under)."""
        return {u: o for u in self.units if (o := self.owner(u)) != u}

    @property
    def by_unit(self) -> bool:
        """Whether figures must be kept per unit (a level filter); otherwise SQL may sum units together."""
        return self.f.level is not None

    def repeat_candidates(self) -> bool:
        """Only merges can join single violations into a repeat, unless units are rolled up."""
        return self.f.rollup is None

    def keep(self, unit_id: str) -> bool:
        """Whether the level filter keeps this unit."""
        return self.f.level is None or unit_level(self.units, unit_id) == self.f.level

    def name(self, unit_id: str) -> str:
        """The unit's name."""
        return unit_label(self.units, unit_id)


def _month_label(m: date) -> str:
    return f"{m.month:02d}/{m.year}"


# -- plan coverage ------------------------------------------------------------------------------
def coverage(ctx: Context) -> Answer:
    """Planned vs done inspections by month, and each coverage rule of the year's plans."""
    p = ctx.f.period
    months: dict[date, Counter] = {date(p.year, m, 1): Counter() for m in range(p.month_from, p.month_to + 1)}
    for r in store.inspection_counts(ctx.conn, ctx.tenant, p, by_month=True):
        if ctx.keep(ctx.owner(r["unit_id"])):
            months[r["month"]]["planned"] += r["planned"]
            months[r["month"]]["done"] += r["done"]
    rows = [{"month": _month_label(m), "planned": c["planned"], "done": c["done"]} for m, c in months.items()]
    tree = [Unit(u.unit_id, u.level or 0, u.kind or "", u.parent_id) for u in units_existing(ctx.units, ctx.f.as_of)]
    plans = []
    for plan in store.plans(ctx.conn, ctx.tenant, p.year):
        rules = [CoverageRule(r["id"], r["description"], r.get("level"), r.get("kind"), r.get("min_count"), r.get("per_level"))
                 for r in plan["coverage_rules"]]
        covered = {attribute(ctx.units, u, ctx.f.as_of) for u in store.concluded_units(ctx.conn, ctx.tenant, str(plan["plan_id"]))}
        results = []
        for res in evaluate(rules, tree, covered):
            item = asdict(res)
            item["missing_units"] = [{"unit_id": u, "name": ctx.name(u)} for u in res.missing]
            results.append(item)
        plans.append({"plan_id": str(plan["plan_id"]), "title": plan["title"], "version": plan["version"],
                      "decision": f"{plan['decision_number']}", "planned_inspections": plan["planned_inspections"],
                      "rules": results})
    total = {"planned": sum(r["planned"] for r in rows), "done": sum(r["done"] for r in rows)}
    return Answer(f"Kế hoạch và kết quả kiểm tra theo tháng, {p.label()}",
                  [("month", "Tháng"), ("planned", "Kế hoạch"), ("done", "Đã kiểm tra")], rows,
                  ("month", ["planned", "done"]), {"totals": total, "plans": plans})


# -- violations ---------------------------------------------------------------------------------
GROUPS = {"criterion": "Nội dung kiểm tra", "unit": "Đơn vị", "level": "Cấp", "severity": "Mức độ", "month": "Tháng"}
SEVERITY_VI = {"minor": "nhẹ", "moderate": "trung bình", "serious": "nghiêm trọng"}


def violations(ctx: Context) -> Answer:
    """Violations grouped by criterion (default), unit, level, severity or month."""
    by = ctx.f.group_by or "criterion"
    dims = {"criterion": ("criterion_code",), "severity": ("severity",), "month": ("month",)}.get(by, ())
    counts = store.violation_counts(ctx.conn, ctx.tenant, ctx.f.period, dims, by_unit=ctx.by_unit or by in ("unit", "level"))
    grouped = group_violations(counts, ctx.units, by, level=ctx.f.level, owner=ctx.owner)
    titles = store.criteria(ctx.conn, ctx.tenant) if by == "criterion" else {}
    rows = []
    for key, n in grouped.items():
        label = {"criterion": lambda k: titles.get(k, k), "unit": ctx.name, "level": lambda k: f"Cấp {k}" if k is not None else "Chưa rõ cấp",
                 "severity": lambda k: SEVERITY_VI.get(k, k), "month": _month_label}[by](key)
        rows.append({"key": key.isoformat() if isinstance(key, date) else key, "label": label, "violations": n})
    rows.sort(key=lambda r: (-r["violations"], str(r["key"])) if by != "month" else (str(r["key"]),))
    return Answer(f"Vi phạm theo {GROUPS[by].lower()}, {ctx.f.period.label()}",
                  [("key", "Mã"), ("label", GROUPS[by]), ("violations", "Số vi phạm")], rows, ("label", ["violations"]),
                  {"group_by": by, "total": sum(grouped.values())})


def repeats(ctx: Context) -> Answer:
    """Units that broke the same criterion more than once, most repeats first."""
    rows = [r for r in store.repeats_by_owner(ctx.conn, ctx.tenant, ctx.f.period, ctx.owners()) if ctx.keep(r["unit_id"])]
    rows.sort(key=lambda r: (-r["repeat_violations"], -r["repeated_criteria"], r["unit_id"]))
    for r in rows:
        r["name"] = ctx.name(r["unit_id"])
    return Answer(f"Đơn vị vi phạm lặp lại, {ctx.f.period.label()}",
                  [("unit_id", "Mã đơn vị"), ("name", "Đơn vị"), ("repeated_criteria", "Số nội dung vi phạm lặp lại"),
                   ("repeat_violations", "Số lần vi phạm")], rows, ("name", ["repeat_violations"]))


# -- remediation --------------------------------------------------------------------------------
def remediation(ctx: Context, listed: int | None = OVERDUE_LISTED) -> Answer:
    """On-time rate, open and overdue remediations (with age) by responsible unit; deadlines in the period.

    Accepted remediations come from the counters, the open ones summed per unit in SQL; each row lists
    its ``listed`` most overdue remediations (all with None), its ``overdue`` counts every one.
    """
    accepted: dict[str, Counter] = defaultdict(Counter)
    for r in store.remediation_counts(ctx.conn, ctx.tenant, ctx.f.period):
        owner = ctx.owner(r["unit_id"])
        if r["total"] and ctx.keep(owner):
            accepted[owner].update(on_time=r["on_time"], late=r["late"])
    by_unit: dict[str, list[OpenRemediations]] = defaultdict(list)
    for r in store.open_remediations(ctx.conn, ctx.tenant, ctx.f.period, ctx.f.today, listed):
        owner = ctx.owner(r.unit_id)
        if ctx.keep(owner):
            by_unit[owner].append(r)
    rows = []
    for unit in accepted.keys() | by_unit.keys():
        s = open_summary(by_unit.get(unit, []), ctx.f.today, accepted[unit]["on_time"], accepted[unit]["late"], listed)
        rows.append({"unit_id": unit, "name": ctx.name(unit), **{k: v for k, v in s.items() if k != "overdue_items"},
                     "overdue_items": [{**o, "deadline": o["deadline"].isoformat()} for o in s["overdue_items"]],
                     # Every overdue remediation of the unit, with the same query parameters.
                     "details": f"/v1/scorecards/{unit}" if unit in ctx.units else None})
    rows.sort(key=lambda r: (-r["overdue"], -r["max_days_overdue"], r["unit_id"]))
    total = combined_summary(rows)
    return Answer(f"Kết quả khắc phục theo đơn vị chịu trách nhiệm, {ctx.f.period.label()}",
                  [("unit_id", "Mã đơn vị"), ("name", "Đơn vị"), ("due", "Đến hạn"), ("on_time", "Đúng hạn"),
                   ("on_time_rate", "Tỷ lệ đúng hạn"), ("open", "Chưa hoàn thành"),
                   ("oldest_open_days", "Số ngày tồn đọng lâu nhất"), ("overdue", "Quá hạn"),
                   ("max_days_overdue", "Số ngày quá hạn lâu nhất")], rows, ("name", ["overdue"]),
                  {"totals": total, "today": ctx.f.today.isoformat()})


# -- late dossiers ------------------------------------------------------------------------------
def dossiers(ctx: Context) -> Answer:
    """Late-dossier rate by field (default) or by unit."""
    by = ctx.f.group_by or "field"
    acc: dict[str, Counter] = defaultdict(Counter)
    for r in store.dossier_counts(ctx.conn, ctx.tenant, ctx.f.period):
        owner = ctx.owner(r["unit_id"])
        if not ctx.keep(owner):
            continue
        key = r["field"] if by == "field" else owner
        acc[key].update({"checked": r["checked"], "late": r["late"], "days_late_sum": r["days_late_sum"]})
    rows = [{"key": k, "label": k if by == "field" else ctx.name(k), "checked": c["checked"], "late": c["late"],
             "late_rate": rate(c["late"], c["checked"]),
             "avg_days_late": round(c["days_late_sum"] / c["late"], 2) if c["late"] else None} for k, c in acc.items()]
    rows.sort(key=lambda r: (-(r["late_rate"] or 0), r["key"]))
    checked, late = sum(r["checked"] for r in rows), sum(r["late"] for r in rows)
    return Answer(f"Hồ sơ thủ tục hành chính trễ hẹn theo {'lĩnh vực' if by == 'field' else 'đơn vị'}, {ctx.f.period.label()}",
                  [("key", "Mã"), ("label", "Lĩnh vực" if by == "field" else "Đơn vị"), ("checked", "Hồ sơ kiểm tra"),
                   ("late", "Trễ hẹn"), ("late_rate", "Tỷ lệ trễ hẹn"), ("avg_days_late", "Số ngày trễ bình quân")],
                  rows, ("label", ["late_rate"]), {"group_by": by, "totals": {"checked": checked, "late": late,
                                                                              "late_rate": rate(late, checked)}})


# -- summary figures, year over year and provinces ----------------------------------------------
def summary(ctx: Context, period: Period) -> dict[str, Any]:
    """The headline figures of one tenant for one period (after attribution and the level filter)."""
    planned = done = 0
    inspected: set[str] = set()
    for r in ctx.read(store.inspection_counts, period):
        owner = ctx.owner(r["unit_id"])
        if ctx.keep(owner):
            planned += r["planned"]
            done += r["done"]
            if r["done"]:
                inspected.add(owner)
    violations = _unit_violations(ctx, period)
    total = sum(r["n"] for r in violations if not ctx.by_unit or ctx.keep(ctx.owner(r["unit_id"])))
    checked = late = 0
    for r in ctx.read(store.dossier_counts, period):
        if ctx.keep(ctx.owner(r["unit_id"])):
            checked += r["checked"]
            late += r["late"]
    # _remediation_counts summed in one pass; per unit only if the level filter needs it.
    counts = dict.fromkeys(("total", "on_time", "late", "overdue"), 0)
    for r in ctx.read(store.remediation_counts, period, ctx.f.today, by_unit=ctx.by_unit):
        if r["total"] and (not ctx.by_unit or ctx.keep(ctx.owner(r["unit_id"]))):
            for k in counts:
                counts[k] += r[k]
    rem = remediation_totals(**counts)
    return {"inspections_planned": planned, "inspections_done": done, "units_inspected": len(inspected),
            "violations": total,
            "units_with_repeats": sum(1 for u in _repeated_criteria(ctx, violations) if ctx.keep(u)),
            "dossiers_checked": checked, "dossiers_late": late, "late_dossier_rate": rate(late, checked),
            "remediations_due": rem["due"], "remediation_on_time_rate": rem["on_time_rate"],
            "remediations_overdue": rem["overdue"]}


def _unit_violations(ctx: Context, period: Period, repeated_criteria: bool = False) -> list[dict[str, Any]]:
    """Violations per unit as the per-unit figures need them: a unit's own row from the per-unit
    summaries when its records are alone under their owner (``repeats`` says whether, or with
    ``repeated_criteria`` how many); per criterion from the counters for units whose records meet
    another's (a merge, or a roll-up)."""
    if not ctx.repeat_candidates():  # rolled up: units meet under their ancestors
        return ctx.read(store.violations_by_criterion, period)
    rows = ctx.read(store.violation_sums, period, repeated_criteria=repeated_criteria)
    meeting = Counter(ctx.owner(r["unit_id"]) for r in rows)
    shared = [r["unit_id"] for r in rows if meeting[ctx.owner(r["unit_id"])] > 1]
    if not shared:
        return rows
    return ([r for r in rows if meeting[ctx.owner(r["unit_id"])] == 1]
            + store.violations_by_criterion(ctx.conn, ctx.tenant, period, shared))


SUMMARY_HEADERS = {
    "inspections_planned": "Cuộc kiểm tra theo kế hoạch", "inspections_done": "Cuộc kiểm tra đã thực hiện",
    "units_inspected": "Đơn vị được kiểm tra", "violations": "Vi phạm", "units_with_repeats": "Đơn vị vi phạm lặp lại",
    "dossiers_checked": "Hồ sơ TTHC kiểm tra", "dossiers_late": "Hồ sơ trễ hẹn", "late_dossier_rate": "Tỷ lệ hồ sơ trễ hẹn",
    "remediations_due": "Kiến nghị đến hạn khắc phục", "remediation_on_time_rate": "Tỷ lệ khắc phục đúng hạn",
    "remediations_overdue": "Khắc phục quá hạn",
}


def year_over_year(ctx: Context) -> Answer:
    """This period against the same months of the previous year, with the ratio ("3 times as many")."""
    this, last = summary(ctx, ctx.f.period), summary(ctx, ctx.f.period.previous_year())
    rows = [{"metric": k, "label": SUMMARY_HEADERS[k], "this_period": this[k], "last_period": last[k],
             "ratio": ratio(this[k], last[k])} for k in SUMMARY_HEADERS]
    p = ctx.f.period
    return Answer(f"So sánh {p.label()} với cùng kỳ năm {p.year - 1}",
                  [("metric", "Mã"), ("label", "Chỉ tiêu"), ("this_period", f"Năm {p.year}"),
                   ("last_period", f"Năm {p.year - 1}"), ("ratio", "Gấp (lần)")], rows,
                  ("label", ["this_period", "last_period"]))


CENTRAL_WORK_MEM = "64MB"
PROVINCE_FIGURES_BYTES = 2048  # one province's row of the central view, as Python holds it
PROVINCE_COLUMNS = [("tenant", "Mã"), ("province", "Tỉnh, thành phố"), *SUMMARY_HEADERS.items()]


def central_question(filters: Filters) -> str | None:
    """The central view's question as the database keeps its figures (province_figures); None for one
    with a tree date, a level, a grouping or a roll-up: the worker keeps only this year's, on today."""
    if (filters.as_of, filters.level, filters.group_by, filters.rollup) != (None, None, None, None):
        return None
    p = filters.period
    return f"{p.year}-{p.month_from:02d}..{p.month_to:02d} on {filters.today.isoformat()}"


# What computed the figures a row of province_figures holds: rows of other code are never served, so
# a deploy that changes how figures are counted never meets the old ones (as the kept answers in
# memory, which a deploy starts empty). Derived from the code itself: nobody has to remember to bump it.
FIGURES_CODE = hashlib.sha256(b"".join(Path(__file__).with_name(name).read_bytes()
                                       for name in ("queries.py", "domain.py", "store.py"))).hexdigest()[:16]


def province_rows(conn: psycopg.Connection, tenant_ids: list[str], filters: Filters) -> dict[str, dict[str, Any]]:
    """Each province's row of the central view, computed (each read model asked once for all of them)."""
    # Summed per unit and criterion for many provinces at once (119,000 groups at 10 million
    # findings), the groups outgrow the default 4 MB and spill to disk. The row-level security
    # condition made the planner expect about 1/500 of the counter rows, so it sorted all 823,000
    # where hashing is twice as fast (784 -> 384 ms with both settings). That was measured before
    # migration 011 gave each partition of the counters its own statistics; not measured again since. And once psycopg has
    # prepared the statement (its 5th run on a pooled connection) PostgreSQL soon switches to a
    # generic plan, blind to how many provinces are asked: 400 -> 900 ms. Planning each time costs 1 ms.
    conn.execute("SELECT set_config('work_mem', %s, true), set_config('enable_sort', 'off', true), "
                 "set_config('plan_cache_mode', 'force_custom_plan', true)", [CENTRAL_WORK_MEM])
    batch, trees = Batch(conn, tenant_ids), store.units_by_tenant(conn, tenant_ids, filters.as_of, contacts=False)
    rows = {}
    for t in tenant_ids:
        ctx = Context(conn, t, filters, units=trees.get(t, {}), batch=batch)
        roots = sorted((u for u in units_existing(ctx.units, filters.as_of) if u.parent_id is None), key=lambda u: u.name)
        rows[t] = {"tenant": t, "province": roots[0].name if roots else t, **summary(ctx, filters.period)}
    return rows


def provinces(conn: psycopg.Connection, tenant_ids: list[str], filters: Filters, cache: KeptAnswers | None = None,
              stored: bool = False) -> Answer:
    """The same headline figures side by side for every province the caller may see. Only the provinces
    whose read models changed since are computed again: with ``cache``, figures this process computed;
    with ``stored``, figures the worker keeps in the database (figures_keeper.py) for this question."""
    question = central_question(filters) if stored else None
    # The change counts first: whatever is computed after them is at least that new.
    versions = store.read_model_versions(conn, tenant_ids) if cache is not None or question else {}
    rows = {t: dict(hit) for t in tenant_ids
            if cache is not None and (hit := cache.get(t, ("provinces", filters), versions[t])) is not None}
    if question and len(rows) < len(tenant_ids):
        held = store.province_figures(conn, [t for t in tenant_ids if t not in rows], question, FIGURES_CODE)
        for t, (version, figures) in held.items():
            if version == versions[t]:
                # In the order computed rows have (jsonb keeps its own), so the JSON answer reads the same.
                figures = {k: figures[k] for k, _ in PROVINCE_COLUMNS}
                rows[t] = figures
                if cache is not None:
                    cache.put(t, ("provinces", filters), version, dict(figures), PROVINCE_FIGURES_BYTES)
    stale = [t for t in tenant_ids if t not in rows]
    if stale:
        for t, row in province_rows(conn, stale, filters).items():
            rows[t] = row
            if cache is not None:
                cache.put(t, ("provinces", filters), versions[t], dict(row), PROVINCE_FIGURES_BYTES)
    return Answer(f"Kết quả kiểm tra công vụ các tỉnh, {filters.period.label()}",
                  list(PROVINCE_COLUMNS),
                  [rows[t] for t in tenant_ids], ("province", ["inspections_done", "violations"]))


# -- risk and scorecards ------------------------------------------------------------------------
def _signals(ctx: Context) -> dict[str, dict[str, Any]]:
    """Per attributed unit: dossiers checked/late, repeated criteria, overdue remediations, surprise inspections."""
    out: dict[str, dict[str, Any]] = defaultdict(lambda: {"dossiers_checked": 0, "dossiers_late": 0, "repeated_criteria": 0,
                                                          "overdue_remediations": 0, "reports": 0})
    for r in store.inspection_counts(ctx.conn, ctx.tenant, ctx.f.period):
        if r["reports"]:
            out[ctx.owner(r["unit_id"])]["reports"] += r["reports"]
    for r in store.dossier_counts(ctx.conn, ctx.tenant, ctx.f.period):
        o = out[ctx.owner(r["unit_id"])]
        o["dossiers_checked"] += r["checked"]
        o["dossiers_late"] += r["late"]
    violations = _unit_violations(ctx, ctx.f.period, repeated_criteria=True)
    for unit, n in _repeated_criteria(ctx, violations).items():
        out[unit]["repeated_criteria"] = n
    for unit, c in _remediation_counts(ctx, ctx.f.period).items():
        out[unit]["overdue_remediations"] = c["overdue"]
    return out


def _repeated_criteria(ctx: Context, violations: list[dict[str, Any]]) -> dict[str, int]:
    """Criteria broken more than once per attributed unit (only units with some), from _unit_violations:
    a unit with a row of its own counts for itself (it takes part in no merge and nothing is rolled
    up); per-criterion rows are joined under their unit's owner first."""
    joined = [ViolationCount(r["unit_id"], None, r["criterion_code"], None, r["n"])
              for r in violations if r["criterion_code"] is not None]
    out = {r["unit_id"]: r["repeated_criteria"] for r in repeat_violations(joined, ctx.units, owner=ctx.owner)}
    out.update((ctx.owner(r["unit_id"]), r["repeats"]) for r in violations if r["criterion_code"] is None and r["repeats"])
    return out


def _remediation_counts(ctx: Context, period: Period) -> dict[str, Counter]:
    """Per attributed unit with remediations due in the period: total, on_time, late, overdue on today."""
    out: dict[str, Counter] = defaultdict(Counter)
    for r in ctx.read(store.remediation_counts, period, ctx.f.today):
        if r["total"]:  # a month left empty by an extension moving the deadline: no remediation there
            out[ctx.owner(r["unit_id"])].update({k: r[k] for k in ("total", "on_time", "late", "overdue")})
    return out


def risk(ctx: Context) -> Answer:
    """Units ranked by risk for choosing surprise inspections (weights in domain.RISK_WEIGHTS)."""
    from services.analytics.domain import RISK_CAPS, RISK_WEIGHTS

    rows = []
    for unit, s in _signals(ctx).items():
        if not ctx.keep(unit):
            continue
        rows.append({"unit_id": unit, "name": ctx.name(unit), **s,
                     "late_dossier_rate": rate(s["dossiers_late"], s["dossiers_checked"])})
    rank_by_risk(rows)
    return Answer(f"Xếp hạng rủi ro các đơn vị để chọn kiểm tra đột xuất, {ctx.f.period.label()}",
                  [("rank", "Thứ hạng"), ("unit_id", "Mã đơn vị"), ("name", "Đơn vị"), ("risk", "Điểm rủi ro"),
                   ("late_dossier_rate", "Tỷ lệ hồ sơ trễ hẹn"), ("repeated_criteria", "Nội dung vi phạm lặp lại"),
                   ("overdue_remediations", "Khắc phục quá hạn"), ("reports", "Kiểm tra đột xuất do phản ánh")],
                  rows, ("name", ["risk"]),
                  {"weights": RISK_WEIGHTS, "caps": RISK_CAPS})


def _absorbed(ctx: Context, unit_id: str) -> list[str]:
    """The unit and every unit whose records it holds under the attribution asked for."""
    known = set(ctx.units) | {unit_id}
    return sorted(u for u in known if ctx.owner(u) == unit_id)


def scorecard(ctx: Context, unit_id: str, with_officials: bool) -> dict[str, Any]:
    """One unit's year with the facts behind every number; its head and deputies if allowed to see them."""
    members = _absorbed(ctx, unit_id)
    facts = store.unit_facts(ctx.conn, ctx.tenant, members, ctx.f.period)
    inspected = sum(r["done"] for r in store.inspection_counts(ctx.conn, ctx.tenant, ctx.f.period) if r["unit_id"] in members)
    card = _card(ctx, unit_id, members, facts, inspected)
    if with_officials:
        card["officials"] = _officials(ctx, unit_id, facts["assessments"])
    return card


def _card(ctx: Context, unit_id: str, members: list[str], facts: dict[str, list[dict]], inspected: int) -> dict[str, Any]:
    codes = Counter(f["criterion_code"] for f in facts["findings"])
    rems = [Remediation(r["id"], r["unit_id"], r["deadline"], r["accepted_on"], r["assigned_on"]) for r in facts["remediations"]]
    rem = remediation_summary(rems, ctx.f.today)
    late = [d for d in facts["dossiers"] if d["late"]]
    return {
        "unit_id": unit_id, "name": ctx.name(unit_id), "level": unit_level(ctx.units, unit_id), "includes_units": members,
        "inspections_done": inspected,
        "findings": len(facts["findings"]),
        "serious_findings": sum(1 for f in facts["findings"] if f["severity"] == "serious"),
        "repeated_criteria": sorted(c for c, n in codes.items() if n > 1),
        "dossiers_checked": len(facts["dossiers"]), "dossiers_late": len(late),
        "late_dossier_rate": rate(len(late), len(facts["dossiers"])),
        "recommendations": len(facts["recommendations"]),
        "remediations_due": rem["due"], "remediations_on_time": rem["on_time"], "remediation_on_time_rate": rem["on_time_rate"],
        "remediations_overdue": rem["overdue"],
        "facts": {
            "finding_ids": [f["id"] for f in facts["findings"]],
            "serious_finding_ids": [f["id"] for f in facts["findings"] if f["severity"] == "serious"],
            "late_dossier_check_ids": [d["id"] for d in late],
            "recommendation_ids": [r["id"] for r in facts["recommendations"]],
            "overdue_remediation_ids": [o["remediation_id"] for o in rem["overdue_items"]],
            "on_time_remediation_ids": sorted(r.remediation_id for r in rems
                                              if r.accepted_on and r.deadline and r.accepted_on <= r.deadline),
        },
    }


def _officials(ctx: Context, unit_id: str, assessment_rows: list[dict]) -> list[dict[str, Any]]:
    contacts = {c.get("person_id"): c for c in (ctx.units[unit_id].contacts if unit_id in ctx.units else ())
                if c.get("role") in ("head", "deputy") and c.get("person_id")}
    refs = sorted({a["official_ref"] for a in assessment_rows} | set(contacts))
    assessments = [Assessment(a["id"], a["official_ref"], a["position"], a["task_execution"], a["processing_time"], a["quality"])
                   for a in assessment_rows]
    disc = [Discipline(d["id"], d["official_ref"], d["discipline_level"])
            for d in store.disciplines(ctx.conn, ctx.tenant, refs, ctx.f.period)] if refs else []
    out = []
    for ref in refs:
        contact = contacts.get(ref, {})
        s = score_official(ref, assessments, disc, position=contact.get("role"), name=contact.get("name"))
        out.append(asdict(s))
    out.sort(key=lambda o: (o["position"] != "head", o["official_ref"]))
    return out


def scorecards(ctx: Context) -> Answer:
    """Every unit's scorecard figures from the counters (the facts behind them: /v1/scorecards/{unit_id})."""
    ids = sorted(u.unit_id for u in units_existing(ctx.units, ctx.f.as_of) if ctx.keep(u.unit_id))
    rows = {u: {"unit_id": u, "name": ctx.name(u), "level": unit_level(ctx.units, u), "inspections_done": 0, "findings": 0,
                "serious_findings": 0, "repeated_criteria": 0, "dossiers_checked": 0, "dossiers_late": 0,
                "recommendations": 0} for u in ids}

    def add(unit_id: str, **values: int) -> None:
        row = rows.get(ctx.owner(unit_id))
        if row is not None:
            for k, v in values.items():
                row[k] += v

    for r in store.inspection_counts(ctx.conn, ctx.tenant, ctx.f.period):
        add(r["unit_id"], inspections_done=r["done"])
    violations = _unit_violations(ctx, ctx.f.period, repeated_criteria=True)
    for r in violations:
        add(r["unit_id"], findings=r["n"], serious_findings=r["serious"])
    for unit, n in _repeated_criteria(ctx, violations).items():
        if unit in rows:
            rows[unit]["repeated_criteria"] = n
    for r in store.dossier_counts(ctx.conn, ctx.tenant, ctx.f.period):
        add(r["unit_id"], dossiers_checked=r["checked"], dossiers_late=r["late"])
    for unit_id, n in store.recommendation_counts(ctx.conn, ctx.tenant, ctx.f.period).items():
        add(unit_id, recommendations=n)
    remediations = _remediation_counts(ctx, ctx.f.period)
    for u, row in rows.items():
        rem = remediation_totals(**remediations.get(u, Counter()))
        row.update(late_dossier_rate=rate(row["dossiers_late"], row["dossiers_checked"]), remediations_due=rem["due"],
                   remediations_on_time=rem["on_time"], remediation_on_time_rate=rem["on_time_rate"],
                   remediations_overdue=rem["overdue"], details=f"/v1/scorecards/{u}")
    out = sorted(rows.values(), key=lambda r: (-r["findings"], r["unit_id"]))
    return Answer(f"Bảng tổng hợp kết quả theo đơn vị, {ctx.f.period.label()}",
                  [("unit_id", "Mã đơn vị"), ("name", "Đơn vị"), ("inspections_done", "Số cuộc kiểm tra"),
                   ("findings", "Tồn tại, vi phạm"), ("serious_findings", "Vi phạm nghiêm trọng"),
                   ("repeated_criteria", "Nội dung vi phạm lặp lại"), ("late_dossier_rate", "Tỷ lệ hồ sơ trễ hẹn"),
                   ("recommendations", "Kiến nghị"), ("remediation_on_time_rate", "Tỷ lệ khắc phục đúng hạn"),
                   ("remediations_overdue", "Khắc phục quá hạn")],
                  out, ("name", ["findings"]))


DASHBOARDS: dict[str, Callable[[Context], Answer]] = {
    "coverage": coverage, "violations": violations, "repeat-violations": repeats, "remediation": remediation,
    "dossiers": dossiers, "year-over-year": year_over_year, "risk": risk, "scorecards": scorecards,
}
