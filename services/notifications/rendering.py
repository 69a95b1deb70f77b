"""Jinja2 templates, one per event and channel: Vietnamese defaults on disk, tenant overrides in the database.

A template is one text with named blocks: e-mail has ``subject``, ``text`` and ``html``; in-app has
``title`` and ``body``. Templates are tenant-editable, so they run in Jinja's sandbox; the html block
is rendered with autoescaping, the others without.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from shared.errors import Invalid

TEMPLATE_DIR = Path(__file__).parent / "templates"
BLOCKS = {"email": ("subject", "text", "html"), "inapp": ("title", "body")}
TEMPLATE_CHANNELS = tuple(BLOCKS)


def vn_date(value: Any) -> str:
    """'2026-03-15' or a date → '15/03/2026' (the way Vietnamese documents write dates)."""
    if isinstance(value, (date, datetime)):
        return value.strftime("%d/%m/%Y")
    text = str(value or "")
    try:
        return datetime.fromisoformat(text[:10]).strftime("%d/%m/%Y")
    except ValueError:
        return text


def _env(autoescape: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=autoescape, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
    env.filters["vn_date"] = vn_date
    return env


_PLAIN = _env(False)
_HTML = _env(True)


def default_source(event_type: str, channel: str) -> str:
    """The shipped default template text."""
    return (TEMPLATE_DIR / f"{event_type}.{channel}.j2").read_text(encoding="utf-8")


@lru_cache(maxsize=512)
def _compile(source: str, autoescape: bool):
    return (_HTML if autoescape else _PLAIN).from_string(source)


@dataclass(frozen=True)
class Rendered:
    subject: str  # the e-mail subject or the in-app title
    text: str
    html: str | None = None


def render(source: str, channel: str, context: dict[str, Any]) -> Rendered:
    """Render one template's blocks; raises jinja2.TemplateError when it cannot."""
    parts: dict[str, str] = {}
    for block in BLOCKS[channel]:
        template = _compile(source, block == "html")
        if block not in template.blocks:
            raise TemplateError(f"the template has no block '{block}'")
        parts[block] = "".join(template.blocks[block](template.new_context(context))).strip()
    if channel == "email":
        return Rendered(" ".join(parts["subject"].split()), parts["text"], parts["html"])
    return Rendered(" ".join(parts["title"].split()), parts["body"])


def check(source: str, channel: str, context: dict[str, Any]) -> Rendered:
    """Render with sample data before a template is saved; a failure is a 422 on the body's source."""
    if channel not in BLOCKS:
        raise Invalid(f"templates exist for {', '.join(BLOCKS)}, not {channel}", field="path.channel")
    try:
        rendered = render(source, channel, context)
    except TemplateError as exc:
        raise Invalid(f"the template does not render: {exc}", field="body.source") from exc
    except Exception as exc:  # the sandbox raises SecurityError, user code may raise anything
        raise Invalid(f"the template does not render: {type(exc).__name__}: {exc}", field="body.source") from exc
    if not rendered.subject:
        raise Invalid(f"the {BLOCKS[channel][0]} block renders empty", field="body.source")
    return rendered


SAMPLE_UNIT = "UBND xã Long Hữu"
SAMPLE_DATA: dict[str, dict[str, Any]] = {
    "plan.approved": {"plan_id": "00000000-0000-0000-0000-000000000001", "version": 1, "year": 2026,
                      "type": "public_service", "title": "Kế hoạch kiểm tra công vụ năm 2026",
                      "decision": {"number": "1732/QĐ-UBND", "date": "2026-01-15", "signer": "Nguyễn Văn Hòa"},
                      "coverage_rules": [], "planned_inspections": 24},
    "inspection.scheduled": {"inspection_id": "00000000-0000-0000-0000-000000000002", "window_start": "2026-04-06",
                             "window_end": "2026-04-10", "form": "on_site", "year": 2026},
    "inspection.started": {"inspection_id": "00000000-0000-0000-0000-000000000002", "form": "on_site",
                           "surprise": False, "reason": None, "started_at": "2026-04-06T08:00:00+07:00"},
    "violation.recorded": {"criterion_code": "KL-02", "severity": "serious",
                           "description": "Cán bộ uống rượu bia trong giờ làm việc", "officials_count": 1,
                           "recorded_at": "2026-04-06T10:30:00+07:00"},
    "inspection.concluded": {"document": {"kind": "notice", "number": "45/TB-SNV", "date": "2026-04-20"},
                             "findings_count": 3, "recommendations": [], "concluded_at": "2026-04-20T09:00:00+07:00"},
    "remediation.assigned": {"kind": "correction", "text": "Chấn chỉnh việc tiếp nhận hồ sơ trễ hẹn",
                             "deadline": "2026-06-30"},
    "remediation.extended": {"old_deadline": "2026-06-30", "new_deadline": "2026-07-31",
                             "reason": "Chờ ý kiến của Sở Tư pháp"},
    "remediation.reported": {"progress": "done", "note": "Đã tổ chức kiểm điểm", "evidence_count": 2,
                             "reported_at": "2026-06-20T14:00:00+07:00"},
    "remediation.verified": {"outcome": "accepted", "note": "Đạt yêu cầu", "verified_at": "2026-06-25T09:00:00+07:00",
                             "deadline": "2026-06-30"},
    "remediation.overdue": {"deadline": "2026-06-30", "days_overdue": 3, "detected_at": "2026-07-03T00:05:00+07:00"},
    "remediation.reminder": {"deadline": "2026-06-30", "text": "Chấn chỉnh việc tiếp nhận hồ sơ trễ hẹn",
                             "kind": "correction"},
    "webhook.disabled": {"url": "https://hethong.example.vn/hook", "failures": 10,
                         "last_error": "HTTP 500"},
}


def sample_context(event_type: str) -> dict[str, Any]:
    """A plausible context for checking a template before it is saved."""
    return {"event_type": event_type, "data": SAMPLE_DATA.get(event_type, {}), "unit_name": SAMPLE_UNIT,
            "team_name": "Đoàn kiểm tra công vụ số 1", "recipient_name": "Trần Thị Mai", "days_left": 3,
            "step": 1, "tenant": "vinh-long"}
