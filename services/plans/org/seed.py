"""Seed a tenant's unit tree with real units and their 2025 history.

From 1 July 2025 (``vietnam-provinces``: official codes and names): the province's People's Committee,
its communes and wards (level 2) and a standard set of provincial departments (level 2, no code).
Until 30 June 2025 (``vietnamadminunits``: the 63 former provinces with districts, and the old → new
mapping): each former province merged into it, with its districts (level 2) and communes (level 3); the
former committees and communes end on 30 June 2025 and point to their successors, the districts are
dissolved (the district level was abolished).

Ids are derived from the tenant and the official code, so running the seed again changes nothing.

    python -m services.plans.org.seed --tenant <tenant> --province 86
"""
from __future__ import annotations

import argparse
import json
import sys
import unicodedata
import uuid
from collections import Counter
from dataclasses import replace
from datetime import date
from typing import Any

from services.plans.org import domain, store
from services.plans.org.domain import Version
from shared.runtime import Runtime

REFORM_DAY = date(2025, 7, 1)
LAST_DAY_BEFORE = date(2025, 6, 30)
# The packages give the last state before the reform, not when it began; history starts here unless told.
DEFAULT_HISTORY_FROM = date(2020, 1, 1)
_NAMESPACE = uuid.UUID("5b0c4a8e-2f1d-4a7e-9c36-0e9f4d1a7b21")

# Provincial departments after the 2025 reorganisation (Decree 45/2025/NĐ-CP); "{p}" is tỉnh or thành phố.
DEPARTMENTS = (
    "Văn phòng Ủy ban nhân dân {p}", "Sở Nội vụ", "Sở Tài chính", "Sở Tư pháp", "Sở Công Thương",
    "Sở Nông nghiệp và Môi trường", "Sở Xây dựng", "Sở Khoa học và Công nghệ", "Sở Giáo dục và Đào tạo", "Sở Y tế",
    "Sở Văn hóa, Thể thao và Du lịch", "Sở Dân tộc và Tôn giáo", "Thanh tra {p}",
)


def unit_id(tenant: str, key: str) -> str:
    """The deterministic id of a seeded unit (same tenant and key → same id)."""
    return str(uuid.uuid5(_NAMESPACE, f"{tenant}|{key}"))


def committee_name(division_and_name: str) -> str:
    """'Xã Cái Nhum' → 'UBND xã Cái Nhum' (the People's Committee of that division)."""
    return "UBND " + division_and_name[:1].lower() + division_and_name[1:]


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("–", "-").replace("—", "-")
    return " ".join(text.casefold().split())


def _ward_code(code: int | str) -> str:
    return f"{int(code):05d}"


def load_province(province_code: str) -> dict[str, Any]:
    """The new province, its wards, and its former provinces with districts and communes mapped to successors."""
    from vietnam_provinces import Province, ProvinceCode, Ward
    from vietnamadminunits.converter import converter_2025 as mapping
    from vietnamadminunits.database import query

    code = int(province_code)
    try:
        province = Province.from_code(ProvinceCode(code))
    except ValueError:
        raise ValueError(f"no province with code {province_code} after 1 July 2025") from None
    wards = sorted(Ward.iter_by_province(ProvinceCode(code)), key=lambda w: int(w.code))
    by_name = {}
    for w in wards:
        by_name.setdefault(_fold(w.name), []).append(_ward_code(w.code))
    # vietnamadminunits names the new wards by key; match them to official codes by name, by code if ambiguous.
    aux = query(f"SELECT DISTINCT provinceKey, wardKey, wardCode, ward FROM admin_units WHERE provinceCode = '{code:02d}'")
    new_province_key = aux[0]["provinceKey"]
    official_codes = {_ward_code(w.code) for w in wards}
    key_to_code = {}
    for a in aux:
        candidates = by_name.get(_fold(a["ward"]), [])
        key_to_code[a["wardKey"]] = candidates[0] if len(candidates) == 1 else (
            a["wardCode"] if a["wardCode"] in official_codes else None)
    old_to_new: dict[str, str | None] = {}
    for new_key, olds in mapping.DICT_PROVINCE_WARD_NO_DIVIDED.get(new_province_key, {}).items():
        for old in olds:
            old_to_new[old] = key_to_code.get(new_key)
    for old, options in mapping.DICT_PROVINCE_WARD_DIVIDED.get(new_province_key, {}).items():
        default = next((o["newWardKey"] for o in options if o["isDefaultNewWard"]), options[0]["newWardKey"])
        old_to_new.setdefault(old, key_to_code.get(default))
    old_keys = mapping.DICT_PROVINCE.get(new_province_key, [])
    legacy = query("SELECT province, provinceCode, provinceKey, district, districtCode, districtKey, ward, wardCode, "
                   "wardKey FROM admin_units_legacy WHERE provinceKey IN (%s) ORDER BY provinceCode, districtCode, wardCode"
                   % ",".join("'" + k.replace("'", "") + "'" for k in old_keys)) if old_keys else []
    former: dict[str, dict[str, Any]] = {}
    for r in legacy:
        p = former.setdefault(r["provinceCode"], {"code": r["provinceCode"], "name": r["province"], "districts": {}})
        d = p["districts"].setdefault(r["districtCode"], {"code": r["districtCode"], "name": r["district"], "wards": []})
        if r["wardCode"]:
            d["wards"].append({"code": r["wardCode"], "name": r["ward"],
                               "successor": old_to_new.get(f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey']}")})
    return {
        "code": f"{code:02d}", "name": province.name, "division": province.division_type.value,
        "wards": [{"code": _ward_code(w.code), "name": w.name} for w in wards],
        "former": list(former.values()),
    }


class _Seeder:
    """Creates the units that do not exist yet, one event each, inside one transaction."""

    def __init__(self, runtime: Runtime, conn, tenant: str):
        self.runtime, self.conn, self.tenant = runtime, conn, tenant
        self.counts: Counter[str] = Counter()

    def add(self, key: str, version: Version, *, ended: str | None = None) -> Version:
        if store.unit_exists(self.conn, self.tenant, version.unit_id):
            self.counts["existing"] += 1
            return version
        store.insert_unit(self.conn, self.tenant, version)
        if ended:
            self.conn.execute("UPDATE units SET ended = %s WHERE id = %s AND tenant = %s",
                              [ended, version.unit_id, self.tenant])
        self.runtime.outbox.add(self.conn, "unit.changed", tenant=self.tenant,
                                data=domain.event_data([version], ended or "created"))
        self.counts["created"] += 1
        self.counts[version.kind] += 1
        return version

    def unit(self, key: str, effective: date, *, name: str, level: int, kind: str, code: str | None,
             parent: Version | None, valid_to: date | None = None, successor_id: str | None = None,
             ended: str | None = None) -> Version:
        version = domain.new_unit(unit_id(self.tenant, key), effective, name=name, level=level, kind=kind, code=code,
                                  parent=parent, parent_id=parent.unit_id if parent else None, valid_to=valid_to)
        if successor_id:
            version = replace(version, successor_id=successor_id)
        return self.add(key, version, ended=ended)


def seed_province(runtime: Runtime, tenant: str, province_code: str, *,
                  history_from: date = DEFAULT_HISTORY_FROM) -> dict[str, Any]:
    """Build (or complete) ``tenant``'s tree for the province with the new code ``province_code``."""
    data = load_province(province_code)
    level_word = "thành phố" if data["division"] == "thành phố trung ương" else "tỉnh"
    with runtime.db.tx(tenant) as conn:
        # Two seeds of one tenant at once would both see "missing" and collide: the second waits instead.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('plans.seed:' || %s))", [tenant])
        s = _Seeder(runtime, conn, tenant)
        top = s.unit(f"province:{data['code']}", REFORM_DAY, name=f"UBND {level_word} {data['name']}", level=1,
                     kind="province_committee", code=data["code"], parent=None)
        for name in DEPARTMENTS:
            name = name.format(p=level_word)
            s.unit(f"department:{data['code']}:{name}", REFORM_DAY, name=name, level=2, kind="department", code=None,
                   parent=top)
        for w in data["wards"]:
            s.unit(f"ward:{w['code']}", REFORM_DAY, name=committee_name(w["name"]), level=2, kind="commune_committee",
                   code=w["code"], parent=top)
        unmapped = 0
        for p in data["former"]:
            old = s.unit(f"former-province:{p['code']}", history_from, name=committee_name(p["name"]), level=1,
                         kind="province_committee", code=p["code"], parent=None, valid_to=LAST_DAY_BEFORE,
                         successor_id=top.unit_id, ended="merged")
            for d in p["districts"].values():
                district = s.unit(f"former-district:{d['code']}", history_from, name=committee_name(d["name"]), level=2,
                                  kind="district_committee", code=d["code"], parent=old, valid_to=LAST_DAY_BEFORE,
                                  ended="dissolved")
                for w in d["wards"]:
                    successor = unit_id(tenant, f"ward:{w['successor']}") if w["successor"] else None
                    unmapped += successor is None
                    s.unit(f"former-ward:{w['code']}", history_from, name=committee_name(w["name"]), level=3,
                           kind="commune_committee", code=w["code"], parent=district, valid_to=LAST_DAY_BEFORE,
                           successor_id=successor, ended="merged" if successor else "dissolved")
    return {
        "tenant": tenant, "province": data["code"], "name": top.name, "province_id": top.unit_id,
        "former_provinces": [p["name"] for p in data["former"]], "created": s.counts["created"],
        "existing": s.counts["existing"], "unmapped_former_communes": unmapped,
        "by_kind": {k: v for k, v in sorted(s.counts.items()) if k not in ("created", "existing")},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.plans.org.seed", description=__doc__.split("\n")[0])
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--province", required=True, help="the new (post-July-2025) province code, e.g. 86")
    parser.add_argument("--history-from", type=date.fromisoformat, default=DEFAULT_HISTORY_FROM,
                        help="first day of the former units (default %(default)s)")
    args = parser.parse_args(argv)
    from services.plans.bootstrap import SERVICE

    runtime = SERVICE.runtime().open()
    try:
        summary = seed_province(runtime, args.tenant, args.province, history_from=args.history_from)
    finally:
        runtime.close()
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
