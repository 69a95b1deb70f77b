"""Settings of the inspections service, read from INSPECTIONS_* environment variables."""
from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings, service_config


class InspectionsSettings(ServiceSettings):
    model_config = service_config("INSPECTIONS_")

    evidence_max_bytes: int = Field(10_485_760, description="Largest evidence file accepted (413 above)")
    evidence_types: str = Field(
        "image/jpeg,image/png,image/webp,application/pdf,video/mp4,audio/mpeg",
        description="Comma-separated content types accepted as evidence (415 otherwise)",
    )
    remediation_working_days: int = Field(
        30, description="Default remediation deadline: working days after the conclusion date, when none is given"
    )
    overdue_interval_seconds: float = Field(60.0, description="How often Celery beat runs the overdue detection")
    local_timezone: str = Field("Asia/Ho_Chi_Minh", description="Time zone whose date decides 'today' for deadlines")
    document_place: str = Field("Hà Nội", description="Default place printed on conclusion documents")

    @property
    def evidence_type_set(self) -> set[str]:
        return {t.strip().lower() for t in self.evidence_types.split(",") if t.strip()}
