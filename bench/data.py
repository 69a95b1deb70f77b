"""Generated data with realistic shapes: 34 provinces, their units, criteria, Vietnamese findings."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

# The 34 provinces and cities after the 2025 merger (tenant ids as the stack names them).
PROVINCES = [
    "ha-noi", "hue", "lai-chau", "dien-bien", "son-la", "lang-son", "quang-ninh", "thanh-hoa", "nghe-an", "ha-tinh",
    "cao-bang", "tuyen-quang", "lao-cai", "thai-nguyen", "phu-tho", "bac-ninh", "hung-yen", "hai-phong", "ninh-binh",
    "quang-tri", "da-nang", "quang-ngai", "gia-lai", "khanh-hoa", "lam-dong", "dak-lak", "ho-chi-minh", "dong-nai",
    "tay-ninh", "can-tho", "vinh-long", "dong-thap", "ca-mau", "an-giang",
]
CRITERIA = [f"{a}.{b}" for a in range(1, 8) for b in range(1, 6)]
SEVERITIES = ["minor"] * 6 + ["moderate"] * 3 + ["serious"]
DESCRIPTIONS = [
    "Công chức không đeo thẻ công chức trong giờ làm việc",
    "Tiếp nhận hồ sơ thủ tục hành chính quá hạn so với quy định",
    "Chưa niêm yết công khai thủ tục hành chính tại bộ phận một cửa",
    "Cán bộ uống rượu bia trong giờ làm việc, vi phạm Chỉ thị 26/CT-TTg",
    "Sổ theo dõi hồ sơ ghi chép không đầy đủ, thiếu chữ ký người nhận",
    "Đi muộn, về sớm không có lý do chính đáng",
]


def units_by_province(per_province: int, seed: int = 7) -> dict[str, list[str]]:
    """Commune-level unit ids per province (after the merger a province has 60-170 communes)."""
    rnd = random.Random(seed)
    return {p: [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(per_province)] for p in PROVINCES}


def violation(rnd: random.Random, unit_id: str, inspection_id: str, when: datetime) -> dict:
    """The data of one ``violation.recorded`` event."""
    return {
        "finding_id": str(uuid.uuid4()), "inspection_id": inspection_id, "unit_id": unit_id, "plan_id": None,
        "criterion_code": rnd.choice(CRITERIA), "severity": rnd.choice(SEVERITIES),
        "description": rnd.choice(DESCRIPTIONS), "officials_count": rnd.choice([0, 0, 1, 1, 2, 3]),
        "recorded_by": "Trần Văn Bình", "recorded_at": when.isoformat(timespec="seconds"),
    }


def violations(n: int, units: dict[str, list[str]], seed: int = 11, year: int = 2026):
    """``n`` (tenant, data) pairs spread over the provinces, their units and the months of ``year``."""
    rnd = random.Random(seed)
    start = datetime(year, 1, 1, 1, 0, tzinfo=timezone.utc)
    inspections: dict[str, str] = {}
    for _ in range(n):
        tenant = rnd.choice(PROVINCES)
        unit = rnd.choice(units[tenant])
        inspection = inspections.setdefault(unit, str(uuid.uuid4()))
        yield tenant, violation(rnd, unit, inspection, start + timedelta(minutes=rnd.randrange(0, 360 * 24 * 60)))
