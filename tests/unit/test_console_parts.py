"""Pure parts of the console: Vietnamese formatting, the signed session, role homes, tree and deadline helpers."""
from __future__ import annotations

from datetime import date, datetime, timezone

from services.console.fieldwork import is_today
from services.console.i18n import MESSAGES, format_date, format_number, label_or_raw, translate
from services.console.planning import flatten
from services.console.remediation import deadline_state
from services.console.session import SessionCodec, User
from services.console.teams import parse_members
from shared.auth import LocalIssuer

ISSUER = LocalIssuer.generate()


def test_dates_and_numbers_are_written_the_vietnamese_way():
    assert format_date(date(2026, 1, 5)) == "05/01/2026"
    assert format_date("2026-07-01") == "01/07/2026"
    # 23:30 UTC on 30 June is already 1 July in Vietnam.
    assert format_date(datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc)) == "01/07/2026 06:30"
    assert format_date(None) == ""
    assert format_number(1234567) == "1.234.567"
    assert format_number(1234.5) == "1.234,5"
    assert format_number(1234.5, "en") == "1,234.5"
    assert format_number(0.75) == "0,75" and format_number(0.333333) == "0,33"
    assert format_number(2.0) == "2" and format_number(1234.5678, decimals=1) == "1.234,6"
    assert format_number(None) == ""


def test_every_label_has_both_languages_and_vietnamese_comes_first():
    assert all(len(pair) == 2 and all(pair) for pair in MESSAGES.values())
    assert translate("vi", "findings") == "Tồn tại, hạn chế, vi phạm"
    assert translate("en", "findings") == "Findings"
    assert translate("xx", "inbox") == "Thông báo"
    assert translate("vi", "days_left", n=3) == "còn 3 ngày"
    assert translate("vi", "no.such.key") == "no.such.key"
    assert label_or_raw("vi", "kind", "commune_committee") == "UBND xã, phường"
    assert label_or_raw("en", "status", "overdue") == "Overdue"
    assert label_or_raw("vi", "status", "archived") == "archived"  # a status the console does not know yet


def test_session_cookie_is_signed_and_expires():
    codec = SessionCodec("bí mật", max_age=60)
    cookie = codec.dumps({"token": "abc", "tên": "Nguyễn Văn Hùng"})
    assert codec.loads(cookie) == {"token": "abc", "tên": "Nguyễn Văn Hùng"}
    assert codec.loads(cookie[:-1] + ("0" if cookie[-1] != "0" else "1")) == {}
    assert SessionCodec("another key", 60).loads(cookie) == {}
    assert codec.loads("garbage") == {} and codec.loads(None) == {}
    expired = SessionCodec("bí mật", max_age=-1)
    assert expired.loads(cookie) == {}


def test_user_from_token_and_role_homes():
    def user(*roles, **kw):
        return User.from_token(ISSUER.issue(tenant="vinh-long", roles=list(roles), name="Trần Thị Mai", **kw))

    assert user("team_member").home == "/inspections"
    assert user("planner").home == "/plans"
    head = user("unit_head", unit_id="u-1")
    assert head.home == "/remediations" and head.unit_id == "u-1" and head.name == "Trần Thị Mai"
    assert user("province_admin").home == "/dashboard"
    central = user("central_viewer")
    assert central.central and central.home == "/dashboard"
    assert User.from_token("not a token") is None
    assert User.from_token(ISSUER.issue(tenant="t", roles=["viewer"], ttl=-10)) is None


def test_tree_flattens_in_order_with_depth():
    tree = [{"id": "p", "name": "UBND tỉnh", "level": 1, "children": [
        {"id": "x", "name": "UBND xã Long Hồ", "level": 2, "children": []},
        {"id": "d", "name": "Sở Nội vụ", "level": 2, "children": [{"id": "b", "name": "Bộ phận một cửa", "level": 3}]}]}]
    rows = flatten(tree)
    assert [(r["id"], r["depth"]) for r in rows] == [("p", 0), ("d", 1), ("b", 2), ("x", 1)]
    assert "children" not in rows[0]


def test_deadlines_and_todays_list():
    today = date(2026, 5, 10)
    assert deadline_state({"deadline": "2026-05-12", "status": "assigned"}, today) == {"days": 2, "overdue": False}
    assert deadline_state({"deadline": "2026-05-08", "status": "reported"}, today) == {"days": -2, "overdue": True}
    assert deadline_state({"deadline": "2026-05-08", "status": "verified"}, today)["days"] is None
    assert is_today({"status": "in_progress"}, today)
    assert is_today({"status": "scheduled", "window_start": "2026-05-08", "window_end": "2026-05-12"}, today)
    assert not is_today({"status": "scheduled", "window_start": "2026-05-11", "window_end": "2026-05-12"}, today)
    assert not is_today({"status": "concluded", "window_start": "2026-05-08", "window_end": "2026-05-12"}, today)



def test_team_members_one_a_line():
    members = parse_members("ttmai; Trần Thị Mai; mai@example.vn\n\n  lmtuan ;Lê Minh Tuấn\nphnhung")
    assert [(m["person_id"], m["name"], m["email"]) for m in members] == [
        ("ttmai", "Trần Thị Mai", "mai@example.vn"), ("lmtuan", "Lê Minh Tuấn", None), ("phnhung", "phnhung", None)]
