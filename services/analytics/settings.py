"""Settings of the analytics service, read from ANALYTICS_* environment variables."""
from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings, service_config


class AnalyticsSettings(ServiceSettings):
    model_config = service_config("ANALYTICS_")

    rebuild_batch_size: int = Field(5000, ge=1, le=100_000, description="Events a rebuild applies per database transaction "
                                    "(more than the live consumer: larger sets of findings per statement, and nobody waits on one event)")
    answer_cache_mb: int = Field(64, ge=0, le=65_536, description="Dashboard answers (rendered) and central-view figures an API "
                                 "process keeps while their province's read models are unchanged, in MiB (0: compute every time)")
    figures_interval_seconds: float = Field(10, gt=0, le=3600, description="How often the worker computes the central view's "
                                            "figures of provinces changed since (the view computes only those changed after)")
    report_issuing_body: str = Field("SỞ NỘI VỤ", description="Body that issues the annual report (under the province's People's Committee)")
    report_signer_title: str = Field("GIÁM ĐỐC", description="Title of the annual report's signer")
