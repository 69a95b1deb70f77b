"""The central view keeps each province's figures while its read models are unchanged, and only then.

Every way a read model changes is exercised: findings applied as a set, one applied alone (a poison
message in its batch makes the consumer apply message by message), a unit renamed, a rebuild's reset;
a duplicate delivery changes nothing and so keeps the figures. Each answer is compared with the view
computed without keeping anything.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timezone

from services.analytics import figures_keeper, queries, rebuild, store
from services.analytics.bootstrap import SERVICE as ANALYTICS
from services.analytics.domain import Period
from services.analytics.kept_answers import KeptAnswers
from tests.integration.test_analytics_readmodel import apply, ev

YEAR, TODAY = 2025, date(2025, 12, 31)


def _unit(tenant: str, unit: str, name: str):
    return ev("unit.changed", tenant, {"unit_id": unit, "change": "created", "name": name, "level": 1, "kind": "province",
                                       "parent_id": None, "valid_from": "2020-01-01", "valid_to": None, "successor_id": None})


def _finding(tenant: str, unit: str, criterion: str = "GIO"):
    return ev("violation.recorded", tenant, {
        "finding_id": str(uuid.uuid4()), "inspection_id": str(uuid.uuid4()), "unit_id": unit, "plan_id": None,
        "criterion_code": criterion, "severity": "minor", "description": "Đi làm muộn 25 phút, không có lý do",
        "officials_count": 1, "recorded_by": "Nguyễn Thị Hồng Nhung", "recorded_at": "2025-03-11T08:25:00+07:00"})


def test_central_view_computes_again_only_the_provinces_that_changed(service_harness, tenant):
    svc = service_harness(ANALYTICS)
    a, b = tenant + "-a", tenant + "-b"
    unit_a, unit_b = str(uuid.uuid4()), str(uuid.uuid4())
    kept = [_finding(a, unit_a)]
    assert apply(svc, [_unit(a, unit_a, "Tỉnh Vĩnh Long"), _unit(b, unit_b, "Tỉnh Đồng Tháp"), kept[0],
                       _finding(b, unit_b), _finding(b, unit_b)]) == []
    central = svc.auth("*", "central_viewer")
    cache = None

    def view(**params) -> dict:
        nonlocal cache
        r = svc.client.get("/v1/dashboards/provinces", params={"year": YEAR, "today": TODAY.isoformat(), **params},
                           headers=central)
        assert r.status_code == 200, r.text
        cache = svc.runtime.extras["kept_answers"]
        rows = {row["tenant"]: row for row in r.json()["rows"] if row["tenant"] in (a, b)}
        # The same as computed from scratch, every time.
        with svc.runtime.db.tx("*") as conn:
            fresh = queries.provinces(conn, [a, b], queries.Filters(Period(YEAR), date.fromisoformat(params.get("today", TODAY.isoformat()))))
        assert rows == {row["tenant"]: row for row in fresh.rows}
        return rows

    first = view()
    assert (first[a]["province"], first[a]["violations"], first[b]["violations"]) == ("Tỉnh Vĩnh Long", 1, 2)
    assert first[b]["units_with_repeats"] == 1 and first[a]["units_with_repeats"] == 0
    filters = queries.Filters(Period(YEAR), TODAY)

    def kept_for() -> set[str]:
        """The provinces whose figures for this question are kept at their current change count."""
        return {t for t in (a, b) if cache.get(t, ("provinces", filters), _version(svc, t)) is not None}

    assert kept_for() == {a, b}
    # A finding in A: A is computed again, B is kept.
    assert apply(svc, [_finding(a, unit_a)]) == []
    assert kept_for() == {b}
    assert view()[a]["violations"] == 2 and kept_for() == {a, b}
    # The same event delivered again changes nothing, so nothing is computed again.
    assert apply(svc, kept) == [] and kept_for() == {a, b}
    # A poison message in the batch: the rest applied one by one (another code path), still counted.
    foreign = _finding(b, unit_a)  # B naming A's unit: refused
    assert len(apply(svc, [foreign, _finding(b, unit_b, "RUOU")])) == 1
    assert kept_for() == {a}
    assert view()[b]["violations"] == 3
    # A unit renamed: the province's name in the view follows.
    assert apply(svc, [ev("unit.changed", a, {"unit_id": unit_a, "change": "renamed", "name": "Tỉnh Vĩnh Long mới", "level": 1,
                                               "kind": "province", "parent_id": None, "valid_from": "2020-01-01",
                                               "valid_to": None, "successor_id": None})]) == []
    assert kept_for() == {b}
    assert view()[a]["province"] == "Tỉnh Vĩnh Long mới"
    # Another day is another question (overdue is counted on it); the first one stays kept.
    view(today="2025-06-30")
    assert kept_for() == {a, b}
    # A rebuild's reset empties the read models: nothing kept is valid any more, and what comes after counts.
    rebuild.reset(svc.runtime)
    assert kept_for() == set()
    assert apply(svc, [_unit(a, unit_a, "Tỉnh Vĩnh Long"), _unit(b, unit_b, "Tỉnh Đồng Tháp"), _finding(a, unit_a)]) == []
    again = view()
    assert (again[a]["violations"], again[b]["violations"]) == (1, 0)


def _version(svc, tenant: str) -> int:
    with svc.runtime.db.tx("*") as conn:
        return store.read_model_versions(conn, [tenant])[tenant]


def test_change_counts_of_ended_sessions_fold_into_one_row_per_province_and_keep_their_sums(service_harness, tenant):
    svc = service_harness(ANALYTICS)
    a, b = tenant + "-a", tenant + "-b"
    unit_a, unit_b = str(uuid.uuid4()), str(uuid.uuid4())
    with svc.runtime.db.tx("*") as conn:
        live = conn.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
        ended = [r["n"] for r in conn.execute(  # pids no session has now: the counts of consumers that stopped
            "SELECT n FROM generate_series(4000000, 4000002) n WHERE n NOT IN (SELECT pid FROM pg_stat_activity)").fetchall()]
        for writer, changes in [(ended[0], 3), (ended[1], 4), (ended[2], 5), (live, 7)]:
            conn.execute("INSERT INTO read_model_versions (tenant, writer, changes) VALUES (%s, %s, %s)", [a, writer, changes])
        conn.execute("INSERT INTO read_model_versions (tenant, writer, changes) VALUES (%s, %s, 2)", [b, ended[0]])
        conn.execute("INSERT INTO read_model_versions (tenant, writer, changes) VALUES (%s, 0, 10)", [b])
    before = {t: _version(svc, t) for t in (a, b)}
    assert before == {a: 19, b: 12}
    ANALYTICS.consumers["main"](svc.runtime)  # what a consumer does as it starts
    assert {t: _version(svc, t) for t in (a, b)} == before
    with svc.runtime.db.tx("*") as conn:
        rows = conn.execute("SELECT tenant, writer, changes FROM read_model_versions WHERE tenant = ANY(%s) ORDER BY 1, 2",
                            [[a, b]]).fetchall()
    assert [(r["tenant"], r["writer"], r["changes"]) for r in rows] == [(a, 0, 12), (a, live, 7), (b, 0, 12)]
    # Applying goes on counting from there.
    assert apply(svc, [_unit(a, unit_a, "Tỉnh Vĩnh Long"), _unit(b, unit_b, "Tỉnh Đồng Tháp")]) == []
    assert _version(svc, a) > 19 and _version(svc, b) > 12


def test_a_province_dashboard_is_kept_until_that_province_changes(service_harness, tenant):
    svc = service_harness(ANALYTICS)
    a, b = tenant + "-a", tenant + "-b"
    unit_a, unit_b = str(uuid.uuid4()), str(uuid.uuid4())
    assert apply(svc, [_unit(a, unit_a, "Tỉnh Vĩnh Long"), _unit(b, unit_b, "Tỉnh Đồng Tháp"), _finding(a, unit_a),
                       _finding(b, unit_b), _finding(b, unit_b, "RUOU")]) == []
    params = {"year": YEAR, "today": TODAY.isoformat()}
    question = ("violations", queries.Filters(Period(YEAR), TODAY), "json")

    def ask(who: str, **extra):
        r = svc.client.get("/v1/dashboards/violations", params={**params, **extra}, headers=svc.auth(who, "viewer"))
        assert r.status_code == 200, r.text
        return r

    assert ask(a).json()["total"] == 1
    kept = svc.runtime.extras["kept_answers"]
    assert kept.get(a, question, _version(svc, a)) is not None
    # What is kept is what is served: a planted answer comes back while A is unchanged ...
    kept.put(a, question, _version(svc, a), '{"planted":"Vĩnh Long"}'.encode(), 32)
    assert ask(a).json() == {"planted": "Vĩnh Long"}
    # ... to A's readers only, and only for the same question.
    assert ask(b).json()["total"] == 2
    assert ask(a, month_to=6).json()["total"] == 1
    assert ask(a, format="csv").content.decode("utf-8-sig").splitlines()[1:] == ["GIO,GIO,1"]
    # A change in B leaves A's answer kept; a change in A computes it again.
    assert apply(svc, [_finding(b, unit_b)]) == []
    assert ask(a).json() == {"planted": "Vĩnh Long"} and ask(b).json()["total"] == 3
    assert apply(svc, [_finding(a, unit_a, "RUOU")]) == []
    body = ask(a).json()
    assert body["total"] == 2 and {r["key"] for r in body["rows"]} == {"GIO", "RUOU"}
    # A rebuild's reset: nothing kept is valid any more.
    rebuild.reset(svc.runtime)
    assert ask(a).json()["total"] == 0


def test_answers_kept_stay_within_their_bytes():
    kept = KeptAnswers(100)
    for i in range(5):
        kept.put("t", i, 1, bytes(30), 30)
    assert [kept.get("t", i, 1) is not None for i in range(5)] == [False, False, True, True, True]
    kept.get("t", 2, 1)  # used: kept over the ones after it
    kept.put("t", 5, 1, bytes(30), 30)
    assert [kept.get("t", i, 1) is not None for i in range(2, 6)] == [True, False, True, True]
    kept.put("t", 6, 1, bytes(101), 101)  # larger than everything: not kept, nothing dropped for it
    assert kept.get("t", 6, 1) is None and kept.get("t", 5, 1) is not None
    assert kept.get("t", 5, 2) is None  # another change count


def test_the_central_view_serves_the_figures_the_worker_keeps_while_their_province_is_unchanged(service_harness, tenant):
    svc = service_harness(ANALYTICS)
    svc.runtime.extras["kept_answers"] = KeptAnswers(0)  # nothing kept in memory: only the worker's figures
    a, b = tenant + "-a", tenant + "-b"
    unit_a, unit_b = str(uuid.uuid4()), str(uuid.uuid4())
    assert apply(svc, [_unit(a, unit_a, "Tỉnh Vĩnh Long"), _unit(b, unit_b, "Tỉnh Đồng Tháp"), _finding(a, unit_a),
                       _finding(b, unit_b), _finding(b, unit_b)]) == []
    central = svc.auth("*", "central_viewer")

    def keep(today: date = TODAY, at: time = time(12)) -> set[str]:
        """One pass of the worker's task at ``at`` on ``today`` (UTC); the provinces of this test it computed."""
        with svc.runtime.db.tx("*") as conn:
            return set(figures_keeper.keep(conn, datetime.combine(today, at, timezone.utc))) & {a, b}

    def view(**params) -> dict:
        r = svc.client.get("/v1/dashboards/provinces", params={"year": YEAR, "today": TODAY.isoformat(), **params},
                           headers=central)
        assert r.status_code == 200, r.text
        return {row["tenant"]: row for row in r.json()["rows"] if row["tenant"] in (a, b)}

    def questions() -> set[str]:
        with svc.runtime.db.tx("*") as conn:
            return {r["question"] for r in conn.execute("SELECT DISTINCT question FROM province_figures").fetchall()}

    def stored(sql: str) -> None:
        with svc.runtime.db.tx("*") as conn:
            conn.execute(f"UPDATE province_figures SET {sql} WHERE tenant = %s", [a])

    assert keep() == {a, b}
    assert keep() == set()  # nothing changed since: nothing computed
    with svc.runtime.db.tx("*") as conn:
        fresh = {r["tenant"]: r for r in queries.provinces(conn, [a, b], figures_keeper.default_question(TODAY)).rows}
    assert view() == fresh and fresh[a]["province"] == "Tỉnh Vĩnh Long" and fresh[b]["units_with_repeats"] == 1
    assert [list(row) for row in view().values()] == [list(row) for row in fresh.values()]  # the same order of keys
    # What is stored is what is served, while A is unchanged ...
    stored("""figures = figures || '{"violations": 999}'""")
    assert view()[a]["violations"] == 999 and view()[b]["violations"] == 2
    # ... for the same question only, and only to the code that computed it.
    assert view(today="2025-06-30")[a]["violations"] == 1 and view(month_to=6)[a]["violations"] == 1
    stored("code = 'before a deploy'")
    assert view()[a]["violations"] == 1
    assert keep() == {a} and view()[a]["violations"] == 1  # computed again by this code
    stored("""figures = figures || '{"violations": 999}'""")
    # A change in A: A is computed again by the view until the worker's next pass stores it.
    assert apply(svc, [_finding(a, unit_a, "RUOU")]) == []
    assert view()[a]["violations"] == 2
    assert keep() == {a}
    stored("""figures = figures || '{"violations": 998}'""")
    assert view()[a]["violations"] == 998
    # A rebuild's reset moves every count: nothing stored before is served.
    rebuild.reset(svc.runtime)
    assert apply(svc, [_unit(a, unit_a, "Tỉnh Vĩnh Long"), _unit(b, unit_b, "Tỉnh Đồng Tháp")]) == []
    assert view()[a]["violations"] == 0
    # A pass on another day keeps that day's question and forgets the others.
    keep(date(2026, 1, 1))
    assert questions() <= {"2026-01..12 on 2026-01-01"}
    # In the day's last minutes a pass keeps tomorrow's figures too (the first views of the day use them),
    # and the next day's first pass forgets yesterday's.
    assert keep(date(2026, 12, 31), time(23, 54)) == {a, b} and questions() == {"2026-01..12 on 2026-12-31"}
    assert keep(date(2026, 12, 31), time(23, 56)) == {a, b}
    assert questions() == {"2026-01..12 on 2026-12-31", "2027-01..12 on 2027-01-01"}
    stored("""figures = figures || '{"violations": 997}'""")
    assert {view(year=2027, today="2027-01-01")[a]["violations"], view(year=2026, today="2026-12-31")[a]["violations"]} == {997}
    assert keep(date(2027, 1, 1), time(0, 0, 5)) == set() and questions() == {"2027-01..12 on 2027-01-01"}
